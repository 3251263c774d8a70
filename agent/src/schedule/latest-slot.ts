/**
 * Holds one camera's newest frame while inference is busy: a new frame replaces an unread one,
 * which is counted as dropped. Bounded by construction: one frame.
 */
export class LatestFrameSlot<Frame> {
  private frame: Frame | undefined;
  private counts = { received: 0, dropped: 0, taken: 0 };

  /** Stores `frame`; returns the unread frame it replaced, if any. */
  put(frame: Frame): Frame | undefined {
    const replaced = this.frame;
    this.frame = frame;
    this.counts.received++;
    if (replaced) this.counts.dropped++;
    return replaced;
  }

  take(): Frame | undefined {
    const frame = this.frame;
    if (frame) {
      this.frame = undefined;
      this.counts.taken++;
    }
    return frame;
  }

  get pending(): boolean {
    return this.frame !== undefined;
  }

  /** Throws away an unread frame (camera removed); it counts as dropped. */
  clear(): void {
    if (this.frame) this.counts.dropped++;
    this.frame = undefined;
  }

  /** received = taken + dropped + (pending ? 1 : 0). */
  stats(): { received: number; dropped: number; taken: number; pending: boolean } {
    return { ...this.counts, pending: this.pending };
  }
}

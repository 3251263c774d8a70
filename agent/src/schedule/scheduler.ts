import { LatestFrameSlot } from './latest-slot.js';

export interface CameraQueueStats {
  /** Frames pushed. */
  received: number;
  /** Frames replaced by a newer one before inference took them. */
  dropped: number;
  /** Frames handed to inference. */
  taken: number;
  pending: boolean;
}

/**
 * Fair turns for inference across cameras: one latest-frame slot per camera, and `next()` serves
 * the cameras that have a frame in round-robin order, so a 30 fps camera cannot starve a 5 fps
 * one. Memory is bounded: at most one frame per camera waits. What waits is anything that names
 * its camera: the agent schedules a frame together with the camera pipeline it goes on to.
 */
export class FrameScheduler<Frame extends { readonly camera: string }> {
  private readonly slots = new Map<string, LatestFrameSlot<Frame>>();
  private order: string[] = [];
  /** Index in `order` where the next search starts: the camera after the last one served. */
  private cursor = 0;
  private readonly waiters: Array<(frame: Frame | undefined) => void> = [];
  private closed = false;

  /** Offers a frame; it replaces the camera's unread frame, if any (counted as dropped). */
  push(frame: Frame): void {
    if (this.closed) return;
    const slot = this.slotOf(frame.camera);
    const waiter = this.waiters.shift();
    if (waiter) {
      // Someone waits, so every slot is empty: handing over directly is still fair.
      slot.put(frame);
      this.cursor = (this.order.indexOf(frame.camera) + 1) % this.order.length;
      waiter(slot.take());
      return;
    }
    slot.put(frame);
  }

  /** The next camera's frame in round-robin order, or undefined when none waits. */
  next(): Frame | undefined {
    const n = this.order.length;
    for (let i = 0; i < n; i++) {
      const index = (this.cursor + i) % n;
      const slot = this.slots.get(this.order[index])!;
      if (slot.pending) {
        this.cursor = (index + 1) % n;
        return slot.take();
      }
    }
    return undefined;
  }

  /**
   * Resolves with the next frame as soon as one is available; with undefined when the scheduler
   * closes or `signal` aborts. Several waiters are served first come, first served.
   */
  wait(signal?: AbortSignal): Promise<Frame | undefined> {
    const ready = this.closed || signal?.aborted ? undefined : this.next();
    if (ready || this.closed || signal?.aborted) return Promise.resolve(ready);
    return new Promise((resolve) => {
      const waiter = (frame: Frame | undefined) => {
        signal?.removeEventListener('abort', onAbort);
        resolve(frame);
      };
      const onAbort = () => {
        const i = this.waiters.indexOf(waiter);
        if (i >= 0) this.waiters.splice(i, 1);
        resolve(undefined);
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.waiters.push(waiter);
    });
  }

  /** Forgets a camera (removed on reload); its unread frame counts as dropped. */
  removeCamera(camera: string): void {
    const slot = this.slots.get(camera);
    if (!slot) return;
    slot.clear();
    this.slots.delete(camera);
    this.order = this.order.filter((c) => c !== camera);
    this.cursor = this.order.length ? this.cursor % this.order.length : 0;
  }

  stats(): Record<string, CameraQueueStats> {
    const out: Record<string, CameraQueueStats> = {};
    for (const [camera, slot] of this.slots) out[camera] = slot.stats();
    return out;
  }

  /** Frames waiting now (at most one per camera). */
  get pendingCount(): number {
    let n = 0;
    for (const slot of this.slots.values()) if (slot.pending) n++;
    return n;
  }

  /** Wakes every waiter with undefined; later pushes are ignored. */
  close(): void {
    this.closed = true;
    for (const waiter of this.waiters.splice(0)) waiter(undefined);
  }

  private slotOf(camera: string): LatestFrameSlot<Frame> {
    let slot = this.slots.get(camera);
    if (!slot) {
      slot = new LatestFrameSlot();
      this.slots.set(camera, slot);
      this.order.push(camera);
    }
    return slot;
  }
}

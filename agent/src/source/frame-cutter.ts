/**
 * Cuts exact-size frames out of a byte stream that arrives in chunks of any size (a pipe hands
 * out 64 KiB pieces that never line up with frames).
 *
 * Each byte is copied once, straight from the chunk into the frame being assembled: no
 * concatenation and no queue, so at most one partial frame is ever held. Frames are not
 * recycled from a pool on purpose: consumers keep frames (latest-frame slots, samplers) or
 * transfer their buffers to the inference worker, and a pool would make it unclear who may
 * still read a buffer that is being overwritten.
 */
export class FrameCutter {
  private current: Uint8Array | undefined;
  private filled = 0;

  constructor(
    readonly frameSize: number,
    private readonly onFrame: (data: Uint8Array) => void,
  ) {
    if (!Number.isInteger(frameSize) || frameSize <= 0) throw new RangeError(`frame size must be a positive integer, got ${frameSize}`);
  }

  /** Bytes of the frame being assembled. */
  get pendingBytes(): number {
    return this.filled;
  }

  push(chunk: Uint8Array): void {
    let offset = 0;
    while (offset < chunk.length) {
      if (!this.current) {
        this.current = new Uint8Array(this.frameSize);
        this.filled = 0;
      }
      const take = Math.min(this.frameSize - this.filled, chunk.length - offset);
      this.current.set(chunk.subarray(offset, offset + take), this.filled);
      this.filled += take;
      offset += take;
      if (this.filled === this.frameSize) {
        const frame = this.current;
        this.current = undefined;
        this.filled = 0;
        this.onFrame(frame);
      }
    }
  }

  /** Drops a partial frame (when ffmpeg restarts, its first bytes start a new frame). */
  reset(): void {
    this.current = undefined;
    this.filled = 0;
  }
}

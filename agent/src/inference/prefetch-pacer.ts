export interface PrefetchPacerOptions {
  /** How long before the running frame is expected to finish the next one is sent. */
  leadMs?: number;
  /** Weight of the newest service time in the moving average. */
  alpha?: number;
  now?: () => number;
}

/**
 * When to hand the inference worker its next frame while it still works on one.
 *
 * Sent only after the answer, the next frame costs the worker a round trip of idle time (answer
 * to the main thread, next frame back: ~1 ms, 3–5% of a fast model's frame). Sent as soon as the
 * running frame starts, it waits in the worker for a whole inference and is stale by then, while
 * a fresher one arrives from the camera. So the next frame goes out `leadMs` before the running
 * one is expected to end (a moving average of the worker's service time): the worker finds it
 * waiting, and it is at most `leadMs` (plus the estimate's error) older than it had to be. When the
 * running frame finishes early, the answer sends the next frame as before.
 */
export class PrefetchPacer {
  private readonly leadMs: number;
  private readonly alpha: number;
  private readonly now: () => number;
  private serviceMs?: number;
  private runningSince?: number;

  constructor(options: PrefetchPacerOptions = {}) {
    this.leadMs = options.leadMs ?? 3;
    this.alpha = options.alpha ?? 0.2;
    this.now = options.now ?? Date.now;
  }

  /** The worker began a frame: it was idle when the frame was sent, or it just finished the one before. */
  started(at = this.now()): void {
    this.runningSince = at;
  }

  /** The worker answered the running frame; its service time updates the estimate. */
  finished(at = this.now()): void {
    if (this.runningSince === undefined) return;
    const took = Math.max(0, at - this.runningSince);
    this.serviceMs = this.serviceMs === undefined ? took : this.serviceMs + this.alpha * (took - this.serviceMs);
    this.runningSince = undefined;
  }

  /** The worker stopped (restart, reload): the running frame will never answer. */
  reset(): void {
    this.runningSince = undefined;
  }

  /** The estimate of one frame's service time, once a frame has been served. */
  get estimateMs(): number | undefined {
    return this.serviceMs;
  }

  /**
   * Milliseconds until the next frame should be sent (0: now); undefined when nothing runs or no
   * frame has been timed yet (then only the answer sends the next one).
   */
  prefetchInMs(at = this.now()): number | undefined {
    if (this.runningSince === undefined || this.serviceMs === undefined) return undefined;
    return Math.max(0, this.runningSince + this.serviceMs - this.leadMs - at);
  }
}

/**
 * Whether the inference worker answers: what /healthz and the systemd watchdog need to know
 * beyond "the worker thread exists". A worker can be loaded and still hang on a frame; the
 * engine restarts it after its hang limit, and until then the agent must not call itself healthy.
 */
export class InferenceLiveness {
  private readonly pending = new Map<number, number>();
  private nextId = 1;
  /** Last time the worker answered a frame (or finished loading a model); undefined before either. */
  lastAnswerAt: number | undefined;
  /** Last time a camera frame went all the way through (inference, tracking, publishing). */
  lastProcessedAt = 0;
  private loadedAt = 0;
  private lastFailure?: { at: number; message: string };

  constructor(
    /** A request unanswered this long, or no answer this long while frames flow, means not alive. */
    readonly staleMs = 15_000,
  ) {}

  /** A model finished loading: counts as an answer, so a fresh worker starts out alive. */
  loaded(now = Date.now()): void {
    this.lastAnswerAt = Math.max(this.lastAnswerAt ?? now, now);
    this.loadedAt = now;
  }

  /** The worker answered a frame with an error (outputs not finite, a model that throws). */
  inferenceFailed(message: string, now = Date.now()): void {
    this.lastFailure = { at: now, message };
  }

  /**
   * Why inference answers but serves nothing: frames keep failing and none got through for
   * `staleMs` (since the model loaded). A worker that answers every frame with an error is alive
   * as a thread and useless as a detector: a model with NaN outputs once passed for healthy
   * with 0 events.
   */
  failing(now = Date.now()): string | undefined {
    const failure = this.lastFailure;
    if (!failure || now - failure.at > this.staleMs) return undefined;
    const lastGood = Math.max(this.lastProcessedAt, this.loadedAt);
    if (now - lastGood <= this.staleMs || failure.at < lastGood) return undefined;
    return `every frame failed inference for ${Math.round((now - lastGood) / 1000)} s: ${failure.message}`;
  }

  /** A frame was sent to the worker; returns the token to pass to answered/failed. */
  begin(now = Date.now()): number {
    const id = this.nextId++;
    this.pending.set(id, now);
    return id;
  }

  answered(id: number, now = Date.now()): void {
    this.pending.delete(id);
    this.lastAnswerAt = now;
  }

  processed(now = Date.now()): void {
    this.lastProcessedAt = now;
  }

  /** The request got no answer (worker restarting or stopped). */
  failed(id: number): void {
    this.pending.delete(id);
  }

  get inFlight(): number {
    return this.pending.size;
  }

  check(input: { now?: number; ready: boolean; framesFlowing: boolean }): InferenceCheck {
    const now = input.now ?? Date.now();
    let oldest: number | undefined;
    for (const at of this.pending.values()) oldest = oldest === undefined ? at : Math.min(oldest, at);
    const oldestPendingMs = oldest === undefined ? undefined : now - oldest;
    const lastAnswerAgeMs = this.lastAnswerAt === undefined ? undefined : now - this.lastAnswerAt;
    let reason: string | undefined;
    if (!input.ready) reason = 'inference worker is not loaded (starting or restarting)';
    else if (oldestPendingMs !== undefined && oldestPendingMs > this.staleMs) reason = `inference has not answered a frame for ${Math.round(oldestPendingMs / 1000)} s`;
    else if (input.framesFlowing && lastAnswerAgeMs !== undefined && lastAnswerAgeMs > this.staleMs) reason = `frames arrive but inference last answered ${Math.round(lastAnswerAgeMs / 1000)} s ago`;
    else reason = this.failing(now);
    return { alive: reason === undefined, reason, lastAnswerAgeMs, oldestPendingMs, inFlight: this.pending.size };
  }
}

export interface InferenceCheck {
  alive: boolean;
  reason?: string;
  lastAnswerAgeMs?: number;
  oldestPendingMs?: number;
  inFlight: number;
}

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

  constructor(
    /** A request unanswered this long, or no answer this long while frames flow, means not alive. */
    readonly staleMs = 15_000,
  ) {}

  /** A model finished loading: counts as an answer, so a fresh worker starts out alive. */
  loaded(now = Date.now()): void {
    this.lastAnswerAt = Math.max(this.lastAnswerAt ?? now, now);
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

/** The config's `watchdog.backoff` (minMs, maxMs), plus the jitter only code sets. */
export interface BackoffOptions {
  /** Delay before the first retry. Default 250 ms. */
  minMs?: number;
  /**
   * Longest delay. Default 2000 ms: a camera that comes back is retried within 2 s, and an RTSP
   * open to the first frame takes ~1.5 s more (handshake, probe, first keyframe), which keeps
   * "frames flow ≤ 5 s after the camera returns" with margin, at one attempt per 1–2 s while
   * it is away.
   */
  maxMs?: number;
  /** Fraction of the delay that is random, 0–1. Default 0.5: delays fall in [d/2, d]. */
  jitter?: number;
}

export const DEFAULT_BACKOFF: Required<BackoffOptions> = { minMs: 250, maxMs: 2000, jitter: 0.5 };

/**
 * Delay before retry number `attempt` (0 for the first): exponential, capped, with jitter so
 * that many cameras behind one failed switch do not all reconnect in the same instant.
 * Always within [raw × (1 − jitter), raw] where raw = min(maxMs, minMs × 2^attempt).
 */
export function backoffDelay(attempt: number, options: BackoffOptions = {}, random: () => number = Math.random): number {
  const { minMs, maxMs, jitter } = { ...DEFAULT_BACKOFF, ...options };
  const raw = Math.min(maxMs, minMs * 2 ** Math.min(Math.max(0, attempt), 30));
  return Math.round(raw * (1 - jitter * random()));
}

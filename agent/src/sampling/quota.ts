import type { SamplingQuota } from '@kestrel/config/schema/sampling';

const HORIZONS = [
  ['perMinute', 60_000],
  ['perHour', 3_600_000],
  ['perDay', 86_400_000],
] as const;

/**
 * A token bucket: holds at most `capacity` tokens and refills continuously at capacity per
 * `periodMs`. A burst may spend the whole bucket at once; after that, one frame per
 * periodMs / capacity. Starts full, so a freshly started agent can keep its first frames.
 */
export class TokenBucket {
  private tokens: number;
  private updatedAt: number;

  constructor(
    readonly capacity: number,
    private readonly periodMs: number,
    now: number,
  ) {
    this.tokens = capacity;
    this.updatedAt = now;
  }

  available(now: number): number {
    this.refill(now);
    return this.tokens;
  }

  canTake(now: number): boolean {
    return this.available(now) >= 1;
  }

  take(now: number): void {
    this.refill(now);
    this.tokens = Math.max(0, this.tokens - 1);
  }

  private refill(now: number): void {
    if (now <= this.updatedAt) return;
    if (this.capacity > 0) this.tokens = Math.min(this.capacity, this.tokens + ((now - this.updatedAt) * this.capacity) / this.periodMs);
    this.updatedAt = now;
  }
}

/** One bucket per horizon the config names (per minute, hour, day); a frame needs a token from each. */
export class Quota {
  private readonly buckets: TokenBucket[];

  constructor(limits: SamplingQuota, now: number) {
    this.buckets = HORIZONS.filter(([key]) => limits[key] !== undefined).map(([key, periodMs]) => new TokenBucket(limits[key]!, periodMs, now));
  }

  canTake(now: number): boolean {
    return this.buckets.every((b) => b.canTake(now));
  }

  /** Spends one token of every horizon; call only after canTake() said yes. */
  take(now: number): void {
    for (const b of this.buckets) b.take(now);
  }
}

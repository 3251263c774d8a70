/**
 * The last N samples of a latency, for p50/p99 over a stats interval. Bounded by construction:
 * a ring buffer, never a growing array.
 */
export class LatencyWindow {
  private readonly samples: Float64Array;
  private next = 0;
  private count = 0;

  constructor(capacity = 1024) {
    this.samples = new Float64Array(capacity);
  }

  add(ms: number): void {
    this.samples[this.next] = ms;
    this.next = (this.next + 1) % this.samples.length;
    if (this.count < this.samples.length) this.count++;
  }

  get size(): number {
    return this.count;
  }

  /** Nearest-rank percentiles, or null without samples. */
  percentiles(): { p50: number; p99: number } | null {
    if (this.count === 0) return null;
    const sorted = Array.from(this.samples.subarray(0, this.count)).sort((a, b) => a - b);
    return { p50: round(nearestRank(sorted, 0.5)), p99: round(nearestRank(sorted, 0.99)) };
  }

  reset(): void {
    this.next = 0;
    this.count = 0;
  }
}

function round(v: number): number {
  return Math.round(v * 100) / 100;
}

/** The nearest-rank percentile `q` (0..1] of ascending, non-empty `sorted`. */
export function nearestRank(sorted: ArrayLike<number>, q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))];
}

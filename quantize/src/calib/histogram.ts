// A streaming histogram of one tensor's values over a symmetric range [-limit, limit].
// Memory is fixed (bins), whatever the number of calibration images: when a batch holds a value
// beyond the range, the range doubles and pairs of bins merge, which is exact because the bins
// stay aligned (the count of bins is even and the range symmetric about 0).

export const DEFAULT_BINS = 4096;

export class Histogram {
  readonly counts: Float64Array;
  /** Half-width of the covered range; 0 until the first non-zero value. */
  limit = 0;
  min = Infinity;
  max = -Infinity;
  total = 0;
  /** Zeros seen while every value was 0 (no range yet to place them in). */
  private pendingZeros = 0;

  constructor(readonly bins = DEFAULT_BINS) {
    if (bins < 2 || bins % 2 !== 0) throw new RangeError(`histogram bins must be even, got ${bins}`);
    this.counts = new Float64Array(bins);
  }

  get binWidth(): number {
    return (2 * this.limit) / this.bins;
  }

  add(values: Float32Array): void {
    if (values.length === 0) return;
    let lo = Infinity;
    let hi = -Infinity;
    for (let i = 0; i < values.length; i++) {
      const v = values[i];
      if (v < lo) lo = v;
      if (v > hi) hi = v;
      // NaN fails both comparisons above; v !== v is the one test that catches it.
      if (v !== v) hi = NaN;
    }
    if (!Number.isFinite(lo) || !Number.isFinite(hi)) {
      // NaN/Inf in an activation means the model itself is broken for this input.
      throw new RangeError('activation contains NaN or Infinity');
    }
    this.min = Math.min(this.min, lo);
    this.max = Math.max(this.max, hi);
    this.grow(Math.max(Math.abs(lo), Math.abs(hi)));
    this.total += values.length;
    if (this.limit === 0) {
      // Every value so far is exactly 0: it lands in the bin just above 0 once a range exists.
      this.pendingZeros += values.length;
      return;
    }
    const scale = this.bins / (2 * this.limit);
    const half = this.bins / 2;
    const last = this.bins - 1;
    const counts = this.counts;
    for (let i = 0; i < values.length; i++) {
      let b = Math.floor(values[i] * scale) + half;
      if (b > last) b = last;
      else if (b < 0) b = 0;
      counts[b]++;
    }
  }

  /** Widens the range (by doubling) until it covers `absmax`. */
  private grow(absmax: number): void {
    if (absmax === 0) return;
    if (this.limit === 0) {
      this.limit = absmax;
      if (this.pendingZeros > 0) {
        this.counts[this.bins / 2] += this.pendingZeros;
        this.pendingZeros = 0;
      }
      return;
    }
    while (this.limit < absmax) {
      const half = this.bins / 2;
      const merged = new Float64Array(this.bins);
      // Bin i covers [(i - half) w, (i - half + 1) w); after doubling it falls in half + floor((i - half) / 2).
      for (let i = 0; i < this.bins; i++) merged[half + Math.floor((i - half) / 2)] += this.counts[i];
      this.counts.set(merged);
      this.limit *= 2;
    }
  }

  /**
   * Counts of |x| in `bins / 2` bins over [0, limit]: the symmetric histogram folded about 0,
   * exact because bins are aligned at 0.
   */
  absoluteCounts(): Float64Array {
    const half = this.bins / 2;
    const out = new Float64Array(half);
    for (let i = 0; i < half; i++) out[i] = this.counts[half + i] + this.counts[half - 1 - i];
    if (this.pendingZeros > 0) out[0] += this.pendingZeros;
    return out;
  }
}

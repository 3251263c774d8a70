// Calibrators: from activations seen on calibration images to one real range per tensor.
// Each keeps a fixed amount of state per tensor (min/max, or a histogram), never the values.
import { Histogram, DEFAULT_BINS } from './histogram.js';
import type { QuantRange } from '../math/qparams.js';

export const CALIBRATION_METHODS = ['minmax', 'percentile', 'entropy'] as const;
export type CalibrationMethod = (typeof CALIBRATION_METHODS)[number];

export interface Calibrator {
  readonly method: CalibrationMethod;
  observe(tensor: string, values: Float32Array): void;
  /** Ranges so far; `symmetric` is how the range will be used (TensorRT), which changes the cut. */
  ranges(symmetric: boolean): Map<string, QuantRange>;
}

export class MinMaxCalibrator implements Calibrator {
  readonly method = 'minmax' as const;
  private readonly seen = new Map<string, QuantRange>();

  observe(tensor: string, values: Float32Array): void {
    let lo = Infinity;
    let hi = -Infinity;
    for (let i = 0; i < values.length; i++) {
      const v = values[i];
      if (v < lo) lo = v;
      if (v > hi) hi = v;
      // NaN fails both comparisons above; v !== v is the one test that catches it.
      if (v !== v) hi = NaN;
    }
    if (values.length > 0 && !(Number.isFinite(lo) && Number.isFinite(hi))) {
      throw new RangeError(`activation ${tensor} contains NaN or Infinity`);
    }
    const prev = this.seen.get(tensor);
    this.seen.set(tensor, prev ? { min: Math.min(prev.min, lo), max: Math.max(prev.max, hi) } : { min: lo, max: hi });
  }

  ranges(): Map<string, QuantRange> {
    return new Map(this.seen);
  }
}

abstract class HistogramCalibrator implements Calibrator {
  abstract readonly method: CalibrationMethod;
  protected readonly histograms = new Map<string, Histogram>();

  constructor(protected readonly bins = DEFAULT_BINS) {}

  observe(tensor: string, values: Float32Array): void {
    let h = this.histograms.get(tensor);
    if (!h) {
      h = new Histogram(this.bins);
      this.histograms.set(tensor, h);
    }
    try {
      h.add(values);
    } catch (err) {
      throw new RangeError(`activation ${tensor}: ${(err as Error).message}`);
    }
  }

  ranges(symmetric: boolean): Map<string, QuantRange> {
    const out = new Map<string, QuantRange>();
    for (const [name, h] of this.histograms) {
      if (h.total === 0) continue;
      out.set(name, h.limit === 0 ? { min: 0, max: 0 } : this.rangeOf(h, symmetric));
    }
    return out;
  }

  protected abstract rangeOf(h: Histogram, symmetric: boolean): QuantRange;
}

/** Clips the outer (100 − percentile)% of values: one outlier pixel no longer sets the scale. */
export class PercentileCalibrator extends HistogramCalibrator {
  readonly method = 'percentile' as const;

  constructor(readonly percentile = 99.999, bins = DEFAULT_BINS) {
    super(bins);
  }

  protected rangeOf(h: Histogram, symmetric: boolean): QuantRange {
    if (symmetric) {
      const abs = h.absoluteCounts();
      const t = upperEdgeAtFraction(abs, this.percentile / 100) * (h.limit / abs.length);
      return { min: Math.max(h.min, -t), max: Math.min(h.max, t) };
    }
    const cut = (100 - this.percentile) / 200;
    const w = h.binWidth;
    const lowBin = lowerEdgeAtFraction(h.counts, cut);
    const highBin = upperEdgeAtFraction(h.counts, 1 - cut);
    return { min: Math.max(h.min, -h.limit + lowBin * w), max: Math.min(h.max, -h.limit + highBin * w) };
  }
}

/**
 * TensorRT's entropy calibration: choose the clipping threshold whose 128-level quantized
 * distribution of |x| is closest (Kullback–Leibler) to the observed one.
 */
export class EntropyCalibrator extends HistogramCalibrator {
  readonly method = 'entropy' as const;

  constructor(readonly quantizedBins = 128, bins = DEFAULT_BINS) {
    super(bins);
  }

  protected rangeOf(h: Histogram, symmetric: boolean): QuantRange {
    const abs = h.absoluteCounts();
    // Non-negative tensors (after ReLU) use all 256 uint8 levels on one side.
    const levels = h.min >= 0 && !symmetric ? this.quantizedBins * 2 : this.quantizedBins;
    const t = entropyThresholdBins(abs, levels) * (h.limit / abs.length);
    return { min: Math.max(h.min, -t), max: Math.min(h.max, t) };
  }
}

export function createCalibrator(method: CalibrationMethod): Calibrator {
  switch (method) {
    case 'minmax':
      return new MinMaxCalibrator();
    case 'percentile':
      return new PercentileCalibrator();
    case 'entropy':
      return new EntropyCalibrator();
  }
}

/** Number of bins (from the left) whose cumulative share first reaches `fraction`. */
function upperEdgeAtFraction(counts: Float64Array, fraction: number): number {
  const total = counts.reduce((a, b) => a + b, 0);
  let cum = 0;
  for (let i = 0; i < counts.length; i++) {
    cum += counts[i];
    if (cum / total >= fraction) return i + 1;
  }
  return counts.length;
}

/** Bins to skip from the left so that at most `fraction` of the values lie left of the edge. */
function lowerEdgeAtFraction(counts: Float64Array, fraction: number): number {
  const total = counts.reduce((a, b) => a + b, 0);
  let cum = 0;
  for (let i = 0; i < counts.length; i++) {
    if ((cum + counts[i]) / total > fraction) return i;
    cum += counts[i];
  }
  return counts.length;
}

/**
 * The KL search over a histogram of |x|: returns how many bins to keep. For each candidate
 * i, P is the first i bins with everything beyond folded into the last one; Q is those bins
 * merged into `levels` groups and spread back over the non-empty bins of each group.
 */
export function entropyThresholdBins(counts: Float64Array, levels = 128): number {
  const n = counts.length;
  if (n <= levels) return n;
  // The exact zeros of a ReLU output pile up in bin 0 and would dominate the divergence;
  // TensorRT's calibrator (and pytorch-quantization's) flatten that bin the same way.
  const hist = Float64Array.from(counts);
  hist[0] = hist[1];
  let total = 0;
  for (let i = 0; i < n; i++) total += hist[i];
  if (total === 0) return n;
  // Candidates every few bins: the KL curve is smooth and this keeps 200 tensors × 2048 bins fast.
  const stride = Math.max(1, Math.floor((n - levels) / 512));
  const suffix = new Float64Array(n + 1);
  for (let i = n - 1; i >= 0; i--) suffix[i] = suffix[i + 1] + hist[i];
  const p = new Float64Array(n);
  const q = new Float64Array(n);
  let best = Infinity;
  let bestBins = n;
  const candidates: number[] = [];
  for (let i = levels; i < n; i += stride) candidates.push(i);
  candidates.push(n);
  for (const i of candidates) {
    p.set(hist.subarray(0, i));
    p[i - 1] += suffix[i];
    const perLevel = i / levels;
    for (let j = 0; j < levels; j++) {
      const start = Math.floor(j * perLevel);
      const end = j === levels - 1 ? i : Math.floor((j + 1) * perLevel);
      let sum = 0;
      let nonzero = 0;
      for (let k = start; k < end; k++) {
        sum += hist[k];
        if (hist[k] !== 0) nonzero++;
      }
      for (let k = start; k < end; k++) q[k] = hist[k] !== 0 ? sum / nonzero : 0;
    }
    const kl = klDivergence(p, q, i);
    // `<=`: among equal divergences keep the widest range (clipping less).
    if (kl <= best) {
      best = kl;
      bestBins = i;
    }
  }
  return bestBins;
}

/** KL(P‖Q) over the first `n` entries, both normalised, Q smoothed where it is 0 but P is not. */
function klDivergence(p: Float64Array, q: Float64Array, n: number): number {
  let pSum = 0;
  let qSum = 0;
  for (let k = 0; k < n; k++) {
    pSum += p[k];
    qSum += q[k];
  }
  if (pSum === 0) return 0;
  if (qSum === 0) return Infinity;
  const eps = 1e-4;
  let zeros = 0;
  for (let k = 0; k < n; k++) if (q[k] === 0) zeros++;
  const take = zeros > 0 ? (eps * zeros) / (n - zeros) : 0;
  let kl = 0;
  for (let k = 0; k < n; k++) {
    if (p[k] === 0) continue;
    const pk = p[k] / pSum;
    const qk = q[k] === 0 ? eps : q[k] / qSum - take;
    kl += pk * Math.log(pk / Math.max(qk, 1e-12));
  }
  return kl;
}

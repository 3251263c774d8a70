/**
 * Distances between two histograms of the same bins (counts, not yet proportions).
 *
 * PSI (population stability index) is the industry's drift figure with known rules of thumb
 * (< 0.1 stable, 0.1–0.25 moderate, > 0.25 significant, hence the default threshold), but it is
 * unbounded and blows up on a bin one side leaves empty, so empty bins get a small epsilon.
 *
 * Jensen–Shannon distance is the second figure: it is symmetric (baseline vs window and window vs
 * baseline read the same, PSI's terms are too, but its epsilon is not), bounded in [0, 1] with
 * log base 2 (so it can be compared across classes and devices, and charted on one axis), and
 * finite without any smoothing, since each side is compared with their mixture. It is the square
 * root of the JS divergence, which makes it a metric.
 */

/** The proportion given to an empty bin before PSI's logarithm (then renormalised). */
export const PSI_EPSILON = 1e-4;

function proportions(counts: readonly number[], epsilon: number): number[] {
  const n = counts.reduce((a, b) => a + b, 0);
  if (n <= 0) return counts.map(() => 1 / counts.length);
  const p = counts.map((c) => Math.max(c / n, epsilon));
  const s = p.reduce((a, b) => a + b, 0);
  return p.map((v) => v / s);
}

function sameBins(a: readonly number[], b: readonly number[]): void {
  if (a.length !== b.length || a.length === 0) throw new RangeError(`histograms must have the same number of bins (got ${a.length} and ${b.length})`);
}

/** PSI = Σ (actual − expected) · ln(actual / expected) over proportions, empty bins at `epsilon`. */
export function psi(expected: readonly number[], actual: readonly number[], epsilon = PSI_EPSILON): number {
  sameBins(expected, actual);
  const e = proportions(expected, epsilon);
  const a = proportions(actual, epsilon);
  let sum = 0;
  for (let i = 0; i < e.length; i++) sum += (a[i] - e[i]) * Math.log(a[i] / e[i]);
  return sum;
}

/** Jensen–Shannon distance, log base 2: 0 for the same distribution, 1 for disjoint ones. */
export function jsDistance(p: readonly number[], q: readonly number[]): number {
  sameBins(p, q);
  const a = proportions(p, 0);
  const b = proportions(q, 0);
  let div = 0;
  for (let i = 0; i < a.length; i++) {
    const m = (a[i] + b[i]) / 2;
    if (a[i] > 0) div += 0.5 * a[i] * Math.log2(a[i] / m);
    if (b[i] > 0) div += 0.5 * b[i] * Math.log2(b[i] / m);
  }
  // Rounding can leave a hair below 0 for equal inputs.
  return Math.sqrt(Math.min(1, Math.max(0, div)));
}

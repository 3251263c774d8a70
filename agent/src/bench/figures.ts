// Arithmetic the bench's reports share.

export function mean(xs: number[]): number {
  return xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);
}

/** Two decimals: what the reports print and write. */
export function round(v: number): number {
  return Math.round(v * 100) / 100;
}

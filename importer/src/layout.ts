// Layouts. TF.js graphs are mostly NHWC, ONNX convolutions are NCHW, and graphs converted
// ONNX → TF (like NanoDet) wrap every Conv in a Transpose pair. Instead of copying those
// transposes and deleting pairs afterwards, every converted value carries the permutation in
// which ONNX holds it: held = transpose(logical TF value, perm). A TF Transpose then only changes
// the permutation, layout-agnostic ops keep it, and a real ONNX Transpose is written only where
// an op needs one specific layout (Conv wants NCHW, Reshape wants the TF order).

export function identityPerm(rank: number): number[] {
  return Array.from({ length: rank }, (_, i) => i);
}

export function isIdentityPerm(perm: readonly number[]): boolean {
  return perm.every((p, i) => p === i);
}

export function samePerm(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((p, i) => p === b[i]);
}

export function invertPerm(perm: readonly number[]): number[] {
  const inv = new Array<number>(perm.length);
  perm.forEach((p, i) => (inv[p] = i));
  return inv;
}

/** A permutation is valid when it holds each of 0..rank-1 once. */
export function isPermutation(perm: readonly number[], rank: number): boolean {
  return perm.length === rank && [...perm].sort((a, b) => a - b).every((p, i) => p === i);
}

/**
 * The ONNX Transpose `perm` attribute that turns a value held in `from` into the same value held
 * in `to`.
 */
export function transposeBetween(from: readonly number[], to: readonly number[]): number[] {
  const inv = invertPerm(from);
  return to.map((axis) => inv[axis]);
}

/**
 * After TF `y = Transpose(x, p)`, the tensor held for x (in layout `held`) is y held in the
 * layout this returns: no data moves.
 */
export function permAfterTranspose(held: readonly number[], p: readonly number[]): number[] {
  const inv = invertPerm(p);
  return held.map((axis) => inv[axis]);
}

/** TF data formats as the permutation that holds them in ONNX's channels-first order. */
export const NHWC_AS_NCHW = [0, 3, 1, 2] as const;

/** Layout of a value after the logical axes `removed` are dropped (Squeeze, reductions). */
export function permWithoutAxes(perm: readonly number[], removed: readonly number[]): number[] {
  return perm.filter((a) => !removed.includes(a)).map((a) => a - removed.filter((r) => r < a).length);
}

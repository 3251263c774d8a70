// Convolution kernels in the two layouts the trainer moves between: TF.js [kh, kw, cin, mult]
// (mult = filters for a dense conv, the depth multiplier for a depthwise one) and ONNX
// [cout, cin/group, kh, kw]. Export and the ONNX importer walk the same index pairs, so the two
// directions cannot disagree.

/** The ONNX dims of a TF.js kernel shape. */
export function onnxKernelDims(depthwise: boolean | undefined, [kh, kw, cin, mult]: readonly number[]): [number, number, number, number] {
  return depthwise ? [cin * mult, 1, kh, kw] : [mult, cin, kh, kw];
}

/** Calls `visit` for every weight: its index in the TF.js array, in the ONNX array, and its output channel. */
export function forEachKernelWeight(depthwise: boolean | undefined, tfShape: readonly number[], visit: (tfIndex: number, onnxIndex: number, outChannel: number) => void): void {
  const [kh, kw, cin, mult] = tfShape;
  const perGroupIn = depthwise ? 1 : cin;
  for (let y = 0; y < kh; y++) {
    for (let x = 0; x < kw; x++) {
      for (let i = 0; i < cin; i++) {
        for (let m = 0; m < mult; m++) {
          // Dense: output m, input i. Depthwise: output i·mult + m, its single input.
          const o = depthwise ? i * mult + m : m;
          const ii = depthwise ? 0 : i;
          visit(((y * kw + x) * cin + i) * mult + m, ((o * perGroupIn + ii) * kh + y) * kw + x, o);
        }
      }
    }
  }
}

// Conv2D gradients for the wasm backend. tfjs-backend-wasm 4.22 has no Conv2DBackpropFilter at
// all, and its Conv2DBackpropInput is a plain C loop (~15x slower than the forward conv here).
// Both are rebuilt from kernels XNNPACK runs fast: im2col + one matrix product per batch chunk,
// and, for stride 1, the forward Conv2D with the filter flipped.
import * as tf from '@tensorflow/tfjs';
import { batchChunk, callWasmKernel, dispose, heapTensor, view, type WasmBackend } from './heap.js';
import { col2im, im2colTransposed, type ConvGeometry } from './im2col.js';

type ConvAttrs = {
  strides: [number, number] | number;
  pad: 'valid' | 'same' | number | tf.backend_util.ExplicitPadding;
  dataFormat: 'NHWC' | 'NCHW';
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
};

function geometry(info: tf.backend_util.Conv2DInfo): ConvGeometry {
  return {
    inHeight: info.inHeight, inWidth: info.inWidth, inChannels: info.inChannels,
    outHeight: info.outHeight, outWidth: info.outWidth,
    filterHeight: info.filterHeight, filterWidth: info.filterWidth,
    strideHeight: info.strideHeight, strideWidth: info.strideWidth,
    dilationHeight: info.dilationHeight, dilationWidth: info.dilationWidth,
    padTop: info.padInfo.top, padLeft: info.padInfo.left,
  };
}

function requireNHWC(format: string, kernel: string): void {
  if (format !== 'NHWC') throw new Error(`${kernel} on wasm supports NHWC only, got ${format}`);
}

/** dW[kh,kw,ci,co] = Σ patch · dy, computed as colsT [kh·kw·ci, m] · dy [m, co] per batch chunk. */
export function conv2DBackpropFilter(args: { inputs: { x: tf.TensorInfo; dy: tf.TensorInfo }; backend: WasmBackend; attrs: ConvAttrs & { filterShape: [number, number, number, number] } }): tf.TensorInfo {
  const { inputs: { x, dy }, backend, attrs } = args;
  requireNHWC(attrs.dataFormat, 'Conv2DBackpropFilter');
  const info = tf.backend_util.computeConv2DInfo(x.shape as [number, number, number, number], attrs.filterShape, attrs.strides, 1, attrs.pad, attrs.dimRoundingMode, false, 'channelsLast');
  const g = geometry(info);
  const positions = info.outHeight * info.outWidth;
  const patch = info.filterHeight * info.filterWidth * info.inChannels;
  const co = info.outChannels;
  const xT = callWasmKernel(backend, 'Transpose', { inputs: { x }, attrs: { perm: [3, 0, 1, 2] } });
  const chunk = batchChunk(info.batchSize, positions, patch);
  const out = heapTensor(backend, attrs.filterShape, (d) => d.fill(0));
  for (let b0 = 0; b0 < info.batchSize; b0 += chunk) {
    const b1 = Math.min(info.batchSize, b0 + chunk);
    const rows = (b1 - b0) * positions;
    const colsT = heapTensor(backend, [patch, rows]);
    const dyRows = heapTensor(backend, [rows, co]);
    // Views after both allocations: an allocation may grow (and detach) the heap.
    view(backend, dyRows).set(view(backend, dy).subarray(b0 * positions * co, b1 * positions * co));
    im2colTransposed(view(backend, xT), info.batchSize, g, b0, b1, view(backend, colsT));
    const part = callWasmKernel(backend, 'BatchMatMul', { inputs: { a: colsT, b: dyRows }, attrs: { transposeA: false, transposeB: false } });
    // part is [patch, co]: the filter's own memory order.
    const partial = view(backend, part);
    const acc = view(backend, out);
    for (let i = 0; i < partial.length; i++) acc[i] += partial[i];
    dispose(backend, colsT, dyRows, part);
  }
  dispose(backend, xT);
  return out;
}

/** dx for a Conv2D: stride 1 as a forward conv with the flipped filter, else dy·Wᵀ then col2im. */
export function conv2DBackpropInput(args: { inputs: { dy: tf.TensorInfo; filter: tf.TensorInfo }; backend: WasmBackend; attrs: ConvAttrs & { inputShape: [number, number, number, number] } }): tf.TensorInfo {
  const { inputs: { dy, filter }, backend, attrs } = args;
  requireNHWC(attrs.dataFormat, 'Conv2DBackpropInput');
  const info = tf.backend_util.computeConv2DInfo(attrs.inputShape, filter.shape as [number, number, number, number], attrs.strides, 1, attrs.pad, attrs.dimRoundingMode, false, 'channelsLast');
  if (info.strideHeight === 1 && info.strideWidth === 1) return backpropInputByFlippedConv(dy, filter, info, backend);
  return backpropInputByCol2im(dy, filter, info, backend);
}

function backpropInputByFlippedConv(dy: tf.TensorInfo, filter: tf.TensorInfo, info: tf.backend_util.Conv2DInfo, backend: WasmBackend): tf.TensorInfo {
  const { filterHeight: FH, filterWidth: FW, inChannels: ci, outChannels: co } = info;
  // flipped[kh,kw,co,ci] = W[FH-1-kh, FW-1-kw, ci, co]: the transposed convolution's filter.
  const flipped = heapTensor(backend, [FH, FW, co, ci]);
  const w = view(backend, filter);
  const f = view(backend, flipped);
  for (let kh = 0; kh < FH; kh++) for (let kw = 0; kw < FW; kw++) {
    const src = ((FH - 1 - kh) * FW + (FW - 1 - kw)) * ci * co;
    const dst = (kh * FW + kw) * co * ci;
    for (let i = 0; i < ci; i++) for (let o = 0; o < co; o++) f[dst + o * ci + i] = w[src + i * co + o];
  }
  const top = FH - 1 - info.padInfo.top;
  const left = FW - 1 - info.padInfo.left;
  const bottom = info.inHeight - info.outHeight - top + FH - 1;
  const right = info.inWidth - info.outWidth - left + FW - 1;
  const dx = callWasmKernel(backend, 'Conv2D', {
    inputs: { x: dy, filter: flipped },
    attrs: { strides: [1, 1], pad: [[0, 0], [top, bottom], [left, right], [0, 0]], dataFormat: 'NHWC', dilations: [1, 1] },
  });
  dispose(backend, flipped);
  return dx;
}

function backpropInputByCol2im(dy: tf.TensorInfo, filter: tf.TensorInfo, info: tf.backend_util.Conv2DInfo, backend: WasmBackend): tf.TensorInfo {
  const g = geometry(info);
  const positions = info.outHeight * info.outWidth;
  const patch = info.filterHeight * info.filterWidth * info.inChannels;
  const co = info.outChannels;
  const filter2d = heapTensor(backend, [patch, co], (d) => d.set(view(backend, filter)));
  const filterT = callWasmKernel(backend, 'Transpose', { inputs: { x: filter2d }, attrs: { perm: [1, 0] } });
  const dx = heapTensor(backend, info.inShape as number[], (d) => d.fill(0));
  const chunk = batchChunk(info.batchSize, positions, patch);
  for (let b0 = 0; b0 < info.batchSize; b0 += chunk) {
    const b1 = Math.min(info.batchSize, b0 + chunk);
    const rows = (b1 - b0) * positions;
    const dyRows = heapTensor(backend, [rows, co]);
    view(backend, dyRows).set(view(backend, dy).subarray(b0 * positions * co, b1 * positions * co));
    const cols = callWasmKernel(backend, 'BatchMatMul', { inputs: { a: dyRows, b: filterT }, attrs: { transposeA: false, transposeB: false } });
    col2im(view(backend, cols), g, b0, b1, view(backend, dx));
    dispose(backend, dyRows, cols);
  }
  dispose(backend, filter2d, filterT);
  return dx;
}

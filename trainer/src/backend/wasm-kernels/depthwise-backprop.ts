// Depthwise-conv gradients for the wasm backend, which has neither. A depthwise conv does only
// k·k multiply-adds per output value, so plain loops over the heap arrays are fast enough; they
// mirror the forward loop (each output position visits its k·k taps) with channels innermost,
// so reads and writes are contiguous.
import * as tf from '@tensorflow/tfjs';
import { heapTensor, view, type WasmBackend } from './heap.js';

type DepthwiseAttrs = {
  strides: [number, number] | number;
  dilations: [number, number] | number;
  pad: 'valid' | 'same' | number | tf.backend_util.ExplicitPadding;
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
};

function depthwiseInfo(xShape: number[], filterShape: number[], attrs: DepthwiseAttrs): tf.backend_util.Conv2DInfo {
  return tf.backend_util.computeConv2DInfo(xShape as [number, number, number, number], filterShape as [number, number, number, number], attrs.strides, attrs.dilations, attrs.pad, attrs.dimRoundingMode, true);
}

/**
 * Calls `visit(xOffset, dyOffset, filterOffset)` for every (image, output position, tap) whose
 * input pixel lies inside the image; offsets point at channel 0 (x, filter) or output channel 0 (dy).
 */
function forEachTap(info: tf.backend_util.Conv2DInfo, visit: (xOffset: number, dyOffset: number, filterOffset: number) => void): void {
  const { batchSize, inHeight: H, inWidth: W, inChannels: C, outHeight: OH, outWidth: OW, outChannels: CO, filterHeight: FH, filterWidth: FW } = info;
  const chMul = CO / C;
  for (let b = 0; b < batchSize; b++) {
    for (let oh = 0; oh < OH; oh++) {
      const ihBase = oh * info.strideHeight - info.padInfo.top;
      for (let ow = 0; ow < OW; ow++) {
        const iwBase = ow * info.strideWidth - info.padInfo.left;
        const dyOffset = ((b * OH + oh) * OW + ow) * CO;
        for (let kh = 0; kh < FH; kh++) {
          const ih = ihBase + kh * info.dilationHeight;
          if (ih < 0 || ih >= H) continue;
          for (let kw = 0; kw < FW; kw++) {
            const iw = iwBase + kw * info.dilationWidth;
            if (iw < 0 || iw >= W) continue;
            visit(((b * H + ih) * W + iw) * C, dyOffset, (kh * FW + kw) * C * chMul);
          }
        }
      }
    }
  }
}

/** dW[kh,kw,c,m] = Σ x[.., c] · dy[.., c·chMul + m]. */
export function depthwiseConv2dNativeBackpropFilter(args: { inputs: { x: tf.TensorInfo; dy: tf.TensorInfo }; backend: WasmBackend; attrs: DepthwiseAttrs & { filterShape: [number, number, number, number] } }): tf.TensorInfo {
  const { inputs: { x, dy }, backend, attrs } = args;
  const info = depthwiseInfo(x.shape, attrs.filterShape, attrs);
  const C = info.inChannels;
  const chMul = info.outChannels / C;
  const dw = new Float32Array(attrs.filterShape.reduce((a, b) => a * b, 1));
  const xs = view(backend, x);
  const dys = view(backend, dy);
  forEachTap(info, (xo, dyo, fo) => {
    if (chMul === 1) {
      for (let c = 0; c < C; c++) dw[fo + c] += xs[xo + c] * dys[dyo + c];
    } else {
      for (let c = 0; c < C; c++) for (let m = 0; m < chMul; m++) dw[fo + c * chMul + m] += xs[xo + c] * dys[dyo + c * chMul + m];
    }
  });
  return heapTensor(backend, attrs.filterShape, (out) => out.set(dw));
}

/** dx[.., c] = Σ over taps of W[kh,kw,c,m] · dy[.., c·chMul + m]. */
export function depthwiseConv2dNativeBackpropInput(args: { inputs: { dy: tf.TensorInfo; filter: tf.TensorInfo }; backend: WasmBackend; attrs: DepthwiseAttrs & { inputShape: [number, number, number, number] } }): tf.TensorInfo {
  const { inputs: { dy, filter }, backend, attrs } = args;
  const info = depthwiseInfo(attrs.inputShape, filter.shape, attrs);
  const C = info.inChannels;
  const chMul = info.outChannels / C;
  const dx = new Float32Array(attrs.inputShape.reduce((a, b) => a * b, 1));
  const w = view(backend, filter).slice();
  const dys = view(backend, dy);
  forEachTap(info, (xo, dyo, fo) => {
    if (chMul === 1) {
      for (let c = 0; c < C; c++) dx[xo + c] += w[fo + c] * dys[dyo + c];
    } else {
      for (let c = 0; c < C; c++) {
        let sum = 0;
        for (let m = 0; m < chMul; m++) sum += w[fo + c * chMul + m] * dys[dyo + c * chMul + m];
        dx[xo + c] += sum;
      }
    }
  });
  return heapTensor(backend, attrs.inputShape, (out) => out.set(dx));
}

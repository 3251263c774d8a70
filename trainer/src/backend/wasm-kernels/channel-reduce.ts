// Sum and Mean over all leading axes of an NHWC tensor (per-channel totals: BatchNorm statistics
// and their gradients, bias gradients). The wasm backend transposes the whole tensor before
// reducing over non-innermost axes; one pass over the data with C accumulators does it without
// the copy. Any other reduction goes to the backend's own kernel.
import * as tf from '@tensorflow/tfjs';
import { heapTensor, view, type WasmBackend } from './heap.js';

type ReduceArgs = { inputs: { x: tf.TensorInfo }; backend: WasmBackend; attrs: { axis: number | number[]; keepDims: boolean } };
type ReduceKernel = (args: ReduceArgs) => tf.TensorInfo;

function leadingAxes(shape: number[], axis: number | number[]): boolean {
  const axes = tf.util.parseAxisParam(axis, shape).sort((a, b) => a - b);
  return shape.length >= 2 && axes.length === shape.length - 1 && axes.every((a, i) => a === i);
}

function perChannel(args: ReduceArgs, mean: boolean): tf.TensorInfo {
  const { x } = args.inputs;
  const C = x.shape[x.shape.length - 1];
  const acc = new Float64Array(C);
  const data = view(args.backend, x);
  const n = data.length;
  for (let i = 0; i < n; i += C) for (let c = 0; c < C; c++) acc[c] += data[i + c];
  const rows = n / C;
  const shape = args.attrs.keepDims ? [...x.shape.slice(0, -1).map(() => 1), C] : [C];
  return heapTensor(args.backend, shape, (out) => {
    for (let c = 0; c < C; c++) out[c] = mean ? acc[c] / rows : acc[c];
  });
}

/** Wraps the backend's kernel: per-channel reductions of float32 take the fast path. */
export function channelReduce(original: ReduceKernel, mean: boolean): ReduceKernel {
  return (args) => {
    const { x } = args.inputs;
    if (x.dtype === 'float32' && leadingAxes([...x.shape], args.attrs.axis)) return perChannel(args, mean);
    return original(args);
  };
}

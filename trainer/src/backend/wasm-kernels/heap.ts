// Helpers for kernels that run inside the wasm backend: they create tensors on the wasm heap,
// read and write them as typed arrays, and call the backend's own kernels directly (not through
// the engine), so nothing they make is tracked, taped or left behind.
import * as tf from '@tensorflow/tfjs';

/** The part of the wasm backend these kernels use (its class is not exported as a type). */
export interface WasmBackend {
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo;
  typedArrayFromHeap(info: tf.TensorInfo): Float32Array;
  disposeData(dataId: object, force?: boolean): boolean;
}

type KernelArgs = { inputs: Record<string, tf.TensorInfo>; attrs?: Record<string, unknown> };

/** Calls one of the wasm backend's registered kernels by name. */
export function callWasmKernel(backend: WasmBackend, name: string, args: KernelArgs): tf.TensorInfo {
  const kernel = tf.getKernel(name, 'wasm');
  if (!kernel) throw new Error(`wasm backend has no ${name} kernel`);
  return kernel.kernelFunc({ inputs: args.inputs, attrs: (args.attrs ?? {}) as tf.NamedAttrMap, backend: backend as unknown as tf.KernelBackend }) as tf.TensorInfo;
}

/** A float32 tensor on the heap filled by `fill` (views are taken after allocation: growth detaches them). */
export function heapTensor(backend: WasmBackend, shape: number[], fill?: (data: Float32Array) => void): tf.TensorInfo {
  const info = backend.makeOutput(shape, 'float32');
  if (fill) fill(backend.typedArrayFromHeap(info));
  return info;
}

export function dispose(backend: WasmBackend, ...infos: tf.TensorInfo[]): void {
  for (const info of infos) backend.disposeData(info.dataId);
}

/** Float32 contents of a heap tensor; the view is only valid until the next heap allocation. */
export function view(backend: WasmBackend, info: tf.TensorInfo): Float32Array {
  return backend.typedArrayFromHeap(info);
}

/** Batch chunk so that a [chunk*rowsPerItem, cols] scratch matrix stays under `maxFloats`. */
export function batchChunk(batch: number, rowsPerItem: number, cols: number, maxFloats = 1 << 23): number {
  return Math.max(1, Math.min(batch, Math.floor(maxFloats / Math.max(1, rowsPerItem * cols))));
}

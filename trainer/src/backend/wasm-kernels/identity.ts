// Identity without a copy. The engine clones every tensor it saves for the backward pass through
// the Identity kernel; the wasm backend's version copies the bytes (~0.4 s a training step for
// the detector), the cpu backend's only shares them. Kernels never write into their inputs, so
// sharing the memory (a reference count, as the wasm Reshape kernel already does) is safe.
import * as tf from '@tensorflow/tfjs';

interface RefCountingBackend {
  incRef(dataId: object): void;
}

export function sharedIdentity(args: { inputs: { x: tf.TensorInfo }; backend: RefCountingBackend }): tf.TensorInfo {
  const { x } = args.inputs;
  args.backend.incRef(x.dataId);
  return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
}

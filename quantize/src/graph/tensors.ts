// The quantizer's own tensor helpers. Making and reading tensors in general is core's
// (@kestrel/core/onnx/tensors); these are about quantization: zero points and sizes.
import { int8Tensor, uint8Tensor, type TensorProto } from '@kestrel/core/onnx/tensors';

/** A zero-point tensor of the given integer type: scalar, or 1-D for per-channel. */
export function zeroPointTensor(name: string, type: 'int8' | 'uint8', values: readonly number[], scalar: boolean): TensorProto {
  const dims = scalar ? [] : [values.length];
  return type === 'int8' ? int8Tensor(name, dims, Int8Array.from(values)) : uint8Tensor(name, dims, Uint8Array.from(values));
}

/** Bytes an initializer occupies in the model file (for size reports). */
export function tensorByteSize(t: TensorProto): number {
  if (t.rawData && t.rawData.length > 0) return t.rawData.length;
  return (t.floatData?.length ?? 0) * 4 + (t.int32Data?.length ?? 0) * 4 + (t.int64Data?.length ?? 0) * 8 + (t.doubleData?.length ?? 0) * 8;
}

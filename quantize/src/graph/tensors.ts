// Initializer tensors: building them from typed arrays. We always write raw_data: it is compact
// and fast. Reading them back (either storage, float16 and double too) lives in core.
import { DataType, type TensorProto } from '@kestrel/core/onnx/tensors';

export { DataType, elementCount, tensorDims, tensorToFloat32, tensorToNumbers, type TensorProto } from '@kestrel/core/onnx/tensors';

function rawBytes(data: ArrayBufferView): Uint8Array {
  // Copy: protobufjs keeps the Uint8Array by reference, and callers reuse their buffers.
  return new Uint8Array(data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength));
}

export function floatTensor(name: string, dims: readonly number[], data: Float32Array | readonly number[]): TensorProto {
  const values = data instanceof Float32Array ? data : Float32Array.from(data);
  return { name, dims: [...dims], dataType: DataType.FLOAT, rawData: rawBytes(values) };
}

export function int8Tensor(name: string, dims: readonly number[], data: Int8Array): TensorProto {
  return { name, dims: [...dims], dataType: DataType.INT8, rawData: rawBytes(data) };
}

export function uint8Tensor(name: string, dims: readonly number[], data: Uint8Array): TensorProto {
  return { name, dims: [...dims], dataType: DataType.UINT8, rawData: rawBytes(data) };
}

export function int32Tensor(name: string, dims: readonly number[], data: Int32Array): TensorProto {
  return { name, dims: [...dims], dataType: DataType.INT32, rawData: rawBytes(data) };
}

export function int64Tensor(name: string, dims: readonly number[], data: readonly number[]): TensorProto {
  return { name, dims: [...dims], dataType: DataType.INT64, rawData: rawBytes(BigInt64Array.from(data.map((v) => BigInt(v)))) };
}

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

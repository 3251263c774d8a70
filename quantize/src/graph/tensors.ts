// Initializer tensors: building them from typed arrays and reading them back as numbers.
// ONNX stores numbers either in typed repeated fields or little-endian `raw_data`; writers pick
// either, so readers must accept both. We always write raw_data: it is compact and fast.
import { onnx } from '@kestrel/core/onnx/proto';
import type { OnnxTypes } from '@kestrel/core/onnx/proto';

export type TensorProto = OnnxTypes.ITensorProto;
export const DataType = onnx.TensorProto.DataType;

export function tensorDims(t: TensorProto): number[] {
  return (t.dims ?? []).map((d) => Number(d));
}

export function elementCount(dims: readonly number[]): number {
  return dims.reduce((a, b) => a * b, 1);
}

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

function view(raw: Uint8Array): DataView {
  return new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
}

function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * 2 ** -14 * (frac / 1024);
  if (exp === 31) return frac ? NaN : sign * Infinity;
  return sign * 2 ** (exp - 15) * (1 + frac / 1024);
}

/** Any numeric tensor as float32 values (weights may arrive as float16 or double). */
export function tensorToFloat32(t: TensorProto): Float32Array {
  const n = elementCount(tensorDims(t));
  const raw = t.rawData && t.rawData.length > 0 ? t.rawData : undefined;
  const out = new Float32Array(n);
  switch (t.dataType) {
    case DataType.FLOAT:
      if (raw) {
        const dv = view(raw);
        for (let i = 0; i < n; i++) out[i] = dv.getFloat32(i * 4, true);
      } else out.set(t.floatData ?? []);
      return out;
    case DataType.FLOAT16:
      if (raw) {
        const dv = view(raw);
        for (let i = 0; i < n; i++) out[i] = halfToFloat(dv.getUint16(i * 2, true));
      } else (t.int32Data ?? []).forEach((h, i) => (out[i] = halfToFloat(h)));
      return out;
    case DataType.DOUBLE:
      if (raw) {
        const dv = view(raw);
        for (let i = 0; i < n; i++) out[i] = dv.getFloat64(i * 8, true);
      } else out.set(t.doubleData ?? []);
      return out;
    default:
      return Float32Array.from(tensorToNumbers(t));
  }
}

/** Integer tensors (shapes, axes, zero points, quantized weights) as plain numbers. */
export function tensorToNumbers(t: TensorProto): number[] {
  const n = elementCount(tensorDims(t));
  const raw = t.rawData && t.rawData.length > 0 ? t.rawData : undefined;
  const out: number[] = new Array(n);
  switch (t.dataType) {
    case DataType.INT64:
      if (raw) {
        const dv = view(raw);
        for (let i = 0; i < n; i++) out[i] = Number(dv.getBigInt64(i * 8, true));
        return out;
      }
      return (t.int64Data ?? []).map((v) => Number(v));
    case DataType.INT32:
      if (raw) {
        const dv = view(raw);
        for (let i = 0; i < n; i++) out[i] = dv.getInt32(i * 4, true);
        return out;
      }
      return [...(t.int32Data ?? [])];
    case DataType.INT8:
      if (raw) return [...new Int8Array(raw.buffer, raw.byteOffset, n)];
      return [...(t.int32Data ?? [])];
    case DataType.UINT8:
      if (raw) return [...raw.subarray(0, n)];
      return [...(t.int32Data ?? [])];
    case DataType.FLOAT:
    case DataType.FLOAT16:
    case DataType.DOUBLE:
      return [...tensorToFloat32(t)];
    default:
      throw new Error(`tensor ${t.name}: data type ${t.dataType} is not supported here`);
  }
}

/** Bytes an initializer occupies in the model file (for size reports). */
export function tensorByteSize(t: TensorProto): number {
  if (t.rawData && t.rawData.length > 0) return t.rawData.length;
  return (t.floatData?.length ?? 0) * 4 + (t.int32Data?.length ?? 0) * 4 + (t.int64Data?.length ?? 0) * 8 + (t.doubleData?.length ?? 0) * 8;
}

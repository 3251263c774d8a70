// ONNX initializer tensors: reading them as numbers, and making them from typed arrays. ONNX
// stores numbers either in typed repeated fields or little-endian `raw_data`, and float weights
// may be float16 or double: readers accept all of them. Makers always write `raw_data`, which is
// compact and fast. Shared by every part that reads or builds a model.
import { onnx } from './proto.js';
import type { OnnxTypes } from './proto.js';

export type TensorProto = OnnxTypes.ITensorProto;
export const DataType = onnx.TensorProto.DataType;

export function tensorDims(t: TensorProto): number[] {
  return (t.dims ?? []).map((d) => Number(d));
}

export function elementCount(dims: readonly number[]): number {
  return dims.reduce((a, b) => a * b, 1);
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

// Typed arrays use the host's byte order; raw_data is little-endian whatever the host.
const HOST_LITTLE_ENDIAN = new Uint8Array(Uint16Array.of(1).buffer)[0] === 1;

function rawBytes(data: ArrayBufferView & { readonly BYTES_PER_ELEMENT: number }): Uint8Array {
  // Copy: protobufjs keeps the Uint8Array by reference, and callers reuse their buffers.
  const bytes = new Uint8Array(data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength));
  const width = data.BYTES_PER_ELEMENT;
  if (!HOST_LITTLE_ENDIAN && width > 1) for (let i = 0; i < bytes.length; i += width) bytes.subarray(i, i + width).reverse();
  return bytes;
}

function rawTensor(name: string, dims: readonly number[], dataType: number, data: ArrayBufferView & { readonly length: number; readonly BYTES_PER_ELEMENT: number }): TensorProto {
  // A tensor whose data does not fill its shape is invalid ONNX: fail where it is made.
  if (data.length !== elementCount(dims)) throw new Error(`tensor ${name}: ${data.length} values for dims [${dims.join(', ')}]`);
  return { name, dims: [...dims], dataType, rawData: rawBytes(data) };
}

export function floatTensor(name: string, dims: readonly number[], data: Float32Array | readonly number[]): TensorProto {
  return rawTensor(name, dims, DataType.FLOAT, data instanceof Float32Array ? data : Float32Array.from(data));
}

export function int8Tensor(name: string, dims: readonly number[], data: Int8Array): TensorProto {
  return rawTensor(name, dims, DataType.INT8, data);
}

export function uint8Tensor(name: string, dims: readonly number[], data: Uint8Array): TensorProto {
  return rawTensor(name, dims, DataType.UINT8, data);
}

export function int32Tensor(name: string, dims: readonly number[], data: Int32Array): TensorProto {
  return rawTensor(name, dims, DataType.INT32, data);
}

/** Plain numbers are fine for shapes and axes; pass a BigInt64Array for values beyond 2^53. */
export function int64Tensor(name: string, dims: readonly number[], data: BigInt64Array | readonly number[]): TensorProto {
  return rawTensor(name, dims, DataType.INT64, data instanceof BigInt64Array ? data : BigInt64Array.from(data, (v) => BigInt(v)));
}

/** One byte per element, 0 or 1, as ONNX stores BOOL. */
export function boolTensor(name: string, dims: readonly number[], data: Uint8Array): TensorProto {
  return rawTensor(name, dims, DataType.BOOL, data);
}

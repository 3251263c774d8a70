// Host tensors: constant values the importer holds in memory (TF.js weights, folded constants,
// ONNX initializers). Row-major, like both TensorFlow and ONNX.

export type HostDType = 'float32' | 'int32' | 'int64' | 'bool';

export type HostData = Float32Array | Int32Array | BigInt64Array | Uint8Array;

export interface HostTensor {
  readonly dtype: HostDType;
  readonly shape: readonly number[];
  readonly data: HostData;
}

export function sizeOf(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/** Row-major strides of a shape, in elements. */
export function stridesOf(shape: readonly number[]): number[] {
  const strides = new Array<number>(shape.length);
  let s = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    strides[i] = s;
    s *= shape[i];
  }
  return strides;
}

export function allocate(dtype: HostDType, size: number): HostData {
  switch (dtype) {
    case 'float32':
      return new Float32Array(size);
    case 'int32':
      return new Int32Array(size);
    case 'int64':
      return new BigInt64Array(size);
    case 'bool':
      return new Uint8Array(size);
  }
}

export function hostTensor(dtype: HostDType, shape: readonly number[], data: HostData): HostTensor {
  if (data.length !== sizeOf(shape)) {
    throw new Error(`tensor data has ${data.length} elements, shape [${shape.join(',')}] needs ${sizeOf(shape)}`);
  }
  return { dtype, shape: [...shape], data };
}

export function int64Tensor(values: readonly number[], shape: readonly number[] = [values.length]): HostTensor {
  return hostTensor('int64', shape, BigInt64Array.from(values, (v) => BigInt(v)));
}

export function float32Tensor(values: readonly number[], shape: readonly number[] = [values.length]): HostTensor {
  return hostTensor('float32', shape, Float32Array.from(values));
}

export function int32Tensor(values: readonly number[], shape: readonly number[] = [values.length]): HostTensor {
  return hostTensor('int32', shape, Int32Array.from(values));
}

/** The values as plain numbers (int64 converted; fine for shapes, indices and small constants). */
export function toNumbers(t: HostTensor): number[] {
  return Array.from(t.data as ArrayLike<number | bigint>, (v) => Number(v));
}

/** A tensor with the same data and a new shape of the same size. */
export function reshapeHost(t: HostTensor, shape: readonly number[]): HostTensor {
  return hostTensor(t.dtype, shape, t.data);
}

/** out = transpose(t, perm): out dim i is t dim perm[i]. */
export function transposeHost(t: HostTensor, perm: readonly number[]): HostTensor {
  if (perm.every((p, i) => p === i)) return t;
  const inStrides = stridesOf(t.shape);
  const outShape = perm.map((p) => t.shape[p]);
  const rank = outShape.length;
  const out = allocate(t.dtype, t.data.length);
  const index = new Array<number>(rank).fill(0);
  const stepIn = perm.map((p) => inStrides[p]);
  let src = 0;
  for (let o = 0; o < out.length; o++) {
    (out as unknown as { [i: number]: number | bigint })[o] = t.data[src];
    // Odometer over the output index, tracking the matching input offset.
    for (let d = rank - 1; d >= 0; d--) {
      index[d]++;
      src += stepIn[d];
      if (index[d] < outShape[d]) break;
      src -= stepIn[d] * outShape[d];
      index[d] = 0;
    }
  }
  return hostTensor(t.dtype, outShape, out);
}

/** Converts between numeric dtypes (TF Cast semantics: float → int truncates toward zero). */
export function castHost(t: HostTensor, dtype: HostDType): HostTensor {
  if (t.dtype === dtype) return t;
  const out = allocate(dtype, t.data.length);
  for (let i = 0; i < t.data.length; i++) {
    const v = Number(t.data[i]);
    if (dtype === 'int64') (out as BigInt64Array)[i] = BigInt(Math.trunc(v));
    else if (dtype === 'bool') (out as Uint8Array)[i] = v !== 0 ? 1 : 0;
    else if (dtype === 'int32') (out as Int32Array)[i] = Math.trunc(v);
    else (out as Float32Array)[i] = v;
  }
  return hostTensor(dtype, t.shape, out);
}

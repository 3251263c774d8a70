// Constant folding in TF semantics: a node whose inputs are all constants is evaluated here
// instead of being written to ONNX. This is what turns NanoDet's SparseToDense → AddV2 chains
// (leftovers of ONNX → TF conversion that compute Reshape targets) back into plain shapes, and
// it keeps shape arithmetic out of the runtime graph generally. Ops not listed are converted
// normally, with their constant inputs as initializers.
import { attrInt, attrInts } from './attrs.js';
import type { TfNodeDef } from './model-json.js';
import { broadcastShapes } from './ops/broadcast.js';
import { resolveSlice, resolveStridedSlice, type ResolvedSlice } from './ops/slice.js';
import { allocate, castHost, hostTensor, reshapeHost, sizeOf, stridesOf, toNumbers, transposeHost, type HostDType, type HostTensor } from './tensor.js';

export class FoldError extends Error {}

type Binary = (x: number, y: number) => number;

const INT_OPS: Record<string, Binary> = {
  Add: (x, y) => (x + y) | 0,
  AddV2: (x, y) => (x + y) | 0,
  Sub: (x, y) => (x - y) | 0,
  Mul: (x, y) => Math.imul(x, y),
  FloorDiv: (x, y) => Math.floor(x / y) | 0,
  FloorMod: (x, y) => x - Math.floor(x / y) * y,
  Maximum: Math.max,
  Minimum: Math.min,
};

const FLOAT_OPS: Record<string, Binary> = {
  Add: (x, y) => x + y,
  AddV2: (x, y) => x + y,
  Sub: (x, y) => x - y,
  Mul: (x, y) => x * y,
  RealDiv: (x, y) => x / y,
  FloorDiv: (x, y) => Math.floor(x / y),
  FloorMod: (x, y) => x - Math.floor(x / y) * y,
  Maximum: Math.max,
  Minimum: Math.min,
};

/** Elementwise `fn` with TF broadcasting. */
export function broadcastBinaryHost(a: HostTensor, b: HostTensor, dtype: HostDType, fn: Binary): HostTensor {
  const shape = broadcastShapes(a.shape, b.shape);
  if (!shape) throw new FoldError(`shapes [${a.shape.join(',')}] and [${b.shape.join(',')}] do not broadcast`);
  const rank = shape.length;
  const stepsFor = (t: HostTensor) => {
    const strides = stridesOf(t.shape);
    return shape.map((_, i) => {
      const d = i - (rank - t.shape.length);
      return d < 0 || t.shape[d] === 1 ? 0 : strides[d];
    });
  };
  const stepA = stepsFor(a);
  const stepB = stepsFor(b);
  const out = allocate(dtype, sizeOf(shape));
  const index = new Array<number>(rank).fill(0);
  let ia = 0;
  let ib = 0;
  for (let o = 0; o < out.length; o++) {
    (out as Float32Array | Int32Array | Uint8Array)[o] = fn(Number(a.data[ia]), Number(b.data[ib]));
    for (let d = rank - 1; d >= 0; d--) {
      index[d]++;
      ia += stepA[d];
      ib += stepB[d];
      if (index[d] < shape[d]) break;
      ia -= stepA[d] * shape[d];
      ib -= stepB[d] * shape[d];
      index[d] = 0;
    }
  }
  return hostTensor(dtype, shape, out);
}

/** Gathers a resolved slice (then drops the shrunk axes from the shape). */
export function sliceHost(t: HostTensor, slice: ResolvedSlice): HostTensor {
  const outShape = slice.axes.map((a) => a.size);
  const strides = stridesOf(t.shape);
  const out = allocate(t.dtype, sizeOf(outShape));
  const rank = outShape.length;
  const index = new Array<number>(rank).fill(0);
  for (let o = 0; o < out.length; o++) {
    let src = 0;
    for (let d = 0; d < rank; d++) src += (slice.axes[d].start + index[d] * slice.axes[d].step) * strides[d];
    (out as unknown as { [i: number]: number | bigint })[o] = t.data[src];
    for (let d = rank - 1; d >= 0; d--) {
      if (++index[d] < outShape[d]) break;
      index[d] = 0;
    }
  }
  return hostTensor(t.dtype, slice.shape, out);
}

export function concatHost(parts: readonly HostTensor[], axis: number): HostTensor {
  const first = parts[0];
  const shape = [...first.shape];
  shape[axis] = parts.reduce((sum, p) => sum + p.shape[axis], 0);
  const outer = sizeOf(first.shape.slice(0, axis));
  const out = allocate(first.dtype, sizeOf(shape));
  let o = 0;
  for (let i = 0; i < outer; i++) {
    for (const p of parts) {
      const chunk = sizeOf(p.shape.slice(axis));
      for (let j = 0; j < chunk; j++) (out as unknown as { [i: number]: number | bigint })[o++] = p.data[i * chunk + j];
    }
  }
  return hostTensor(first.dtype, shape, out);
}

/** TF SparseToDense: `default_value` everywhere, `sparse_values` at `sparse_indices`. */
export function sparseToDenseHost(indices: HostTensor, outputShape: HostTensor, values: HostTensor, defaultValue: HostTensor): HostTensor {
  const shape = toNumbers(outputShape);
  const out = allocate(values.dtype, sizeOf(shape));
  out.fill(defaultValue.data[0] as never);
  const rank = shape.length;
  const count = indices.shape.length === 0 ? 1 : indices.shape[0];
  const strides = stridesOf(shape);
  const idx = toNumbers(indices);
  for (let n = 0; n < count; n++) {
    let offset = 0;
    for (let d = 0; d < rank; d++) {
      const i = idx[n * rank + d];
      if (i < 0 || i >= shape[d]) throw new FoldError(`sparse index ${i} is out of range for dimension ${d} of size ${shape[d]}`);
      offset += i * strides[d];
    }
    (out as unknown as { [i: number]: number | bigint })[offset] = values.shape.length === 0 ? values.data[0] : values.data[n];
  }
  return hostTensor(values.dtype, shape, out);
}

function axisOf(value: number, rank: number): number {
  const a = value < 0 ? value + rank : value;
  if (a < 0 || a >= rank) throw new FoldError(`axis ${value} is out of range for rank ${rank}`);
  return a;
}

function reshapeTarget(t: HostTensor, target: number[]): number[] {
  const known = target.filter((d) => d !== -1).reduce((a, b) => a * b, 1);
  const resolved = target.map((d) => (d === -1 ? t.data.length / known : d));
  if (sizeOf(resolved) !== t.data.length || resolved.some((d) => !Number.isInteger(d))) {
    throw new FoldError(`cannot reshape [${t.shape.join(',')}] to [${target.join(',')}]`);
  }
  return resolved;
}

/** Ops the importer can only evaluate at conversion time (their inputs must be constants). */
export const FOLD_ONLY_OPS: readonly string[] = ['SparseToDense'];

const TF_CAST: Record<string, HostDType> = { DT_FLOAT: 'float32', DT_INT32: 'int32', DT_INT64: 'int32', DT_BOOL: 'bool' };

/**
 * Evaluates `node` on constant inputs; undefined when the folder does not know the op (the
 * converter then handles it). Throws FoldError when the op cannot be evaluated on these values.
 */
export function foldNode(node: TfNodeDef, inputs: readonly HostTensor[]): HostTensor[] | undefined {
  const op = node.op;
  const [x] = inputs;
  if (op === 'Identity' || op === 'StopGradient' || op === 'Snapshot') return [x];
  if (op in FLOAT_OPS && inputs.length === 2) {
    if (x.dtype === 'int32' && INT_OPS[op]) return [broadcastBinaryHost(x, inputs[1], 'int32', INT_OPS[op])];
    if (x.dtype === 'float32') return [broadcastBinaryHost(x, inputs[1], 'float32', FLOAT_OPS[op])];
    return undefined;
  }
  switch (op) {
    case 'Cast': {
      const to = TF_CAST[node.attr?.DstT?.type ?? ''];
      return to ? [castHost(x, to)] : undefined;
    }
    case 'Reshape':
      return [reshapeHost(x, reshapeTarget(x, toNumbers(inputs[1])))];
    case 'ExpandDims': {
      const axis = axisOf(toNumbers(inputs[1])[0], x.shape.length + 1);
      const shape = [...x.shape];
      shape.splice(axis, 0, 1);
      return [reshapeHost(x, shape)];
    }
    case 'Squeeze': {
      const listed = attrInts(node, 'squeeze_dims', attrInts(node, 'axis', [])).map((a) => axisOf(a, x.shape.length));
      return [reshapeHost(x, x.shape.filter((d, i) => (listed.length > 0 ? !listed.includes(i) : d !== 1)))];
    }
    case 'Transpose':
      return [transposeHost(x, toNumbers(inputs[1]))];
    case 'ConcatV2': {
      const parts = inputs.slice(0, -1);
      return [concatHost(parts, axisOf(toNumbers(inputs[inputs.length - 1])[0], parts[0].shape.length))];
    }
    case 'Pack': {
      const axis = axisOf(attrInt(node, 'axis', 0), x.shape.length + 1);
      const expanded = inputs.map((t) => {
        const shape = [...t.shape];
        shape.splice(axis, 0, 1);
        return reshapeHost(t, shape);
      });
      return [concatHost(expanded, axis)];
    }
    case 'StridedSlice': {
      const masks = {
        begin: attrInt(node, 'begin_mask', 0),
        end: attrInt(node, 'end_mask', 0),
        ellipsis: attrInt(node, 'ellipsis_mask', 0),
        newAxis: attrInt(node, 'new_axis_mask', 0),
        shrinkAxis: attrInt(node, 'shrink_axis_mask', 0),
      };
      const spec = resolveStridedSlice(x.shape, toNumbers(inputs[1]), toNumbers(inputs[2]), toNumbers(inputs[3]), masks, (r) => new FoldError(r));
      return [sliceHost(x, spec)];
    }
    case 'Slice':
      return [sliceHost(x, resolveSlice(x.shape, toNumbers(inputs[1]), toNumbers(inputs[2]), (r) => new FoldError(r)))];
    case 'SparseToDense':
      return [sparseToDenseHost(inputs[0], inputs[1], inputs[2], inputs[3])];
    default:
      return undefined;
  }
}

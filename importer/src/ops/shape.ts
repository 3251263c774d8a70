// Ops that move data without computing: identity, transpose, reshape, (un)squeeze, concat,
// split, pad, shape. Layout-aware where it is free (concat/split/pad along a mapped axis);
// Reshape and friends need TF order and get it.
import { attr } from '@kestrel/core/onnx/build';
import { attrInt, attrInts, attrString } from '../attrs.js';
import { constValue, dtypeOf, shapeOf, type NodeContext, type TfValue } from '../context.js';
import { identityPerm, isPermutation, permAfterTranspose, permWithoutAxes } from '../layout.js';
import { int32Tensor, int64Tensor, sizeOf, toNumbers } from '../tensor.js';
import type { OpConverter, OpTable } from './types.js';

function layoutOf(v: TfValue): number[] {
  return v.kind === 'dynamic' ? [...v.perm] : identityPerm(shapeOf(v).length);
}

/** A TF axis (maybe negative) checked against `rank`. */
export function normalizeAxis(ctx: NodeContext, axis: number, rank: number): number {
  const a = axis < 0 ? axis + rank : axis;
  if (a < 0 || a >= rank) throw ctx.unsupported(`axis ${axis} is out of range for rank ${rank}`);
  return a;
}

const identity: OpConverter = (ctx) => [ctx.input(0)];

const transpose: OpConverter = (ctx) => {
  const x = ctx.input(0);
  const p = toNumbers(ctx.constInput(1, 'perm'));
  if (!isPermutation(p, shapeOf(x).length)) throw ctx.unsupported(`perm [${p.join(',')}] is not a permutation of rank ${shapeOf(x).length}`);
  if (x.kind === 'const') throw ctx.unsupported('constant input was not folded');
  // No data moves: the held tensor stays, only its logical reading changes.
  return [{ ...x, shape: p.map((a) => x.shape[a]), perm: permAfterTranspose(x.perm, p) }];
};

/** TF Reshape target with -1 resolved; written out in full so ONNX's 0-means-copy never applies. */
export function resolveReshape(ctx: NodeContext, inShape: readonly number[], target: readonly number[]): number[] {
  const known = target.filter((d) => d !== -1).reduce((a, b) => a * b, 1);
  const unknown = target.filter((d) => d === -1).length;
  const total = sizeOf(inShape);
  if (unknown > 1) throw ctx.unsupported(`shape [${target.join(',')}] has more than one -1`);
  const resolved = target.map((d) => (d === -1 ? (known === 0 ? 0 : total / known) : d));
  if (sizeOf(resolved) !== total || resolved.some((d) => !Number.isInteger(d) || d < 0)) {
    throw ctx.unsupported(`cannot reshape [${inShape.join(',')}] to [${target.join(',')}]`);
  }
  return resolved;
}

const reshape: OpConverter = (ctx) => {
  const x = ctx.input(0);
  const shape = resolveReshape(ctx, shapeOf(x), toNumbers(ctx.constInput(1, 'shape')));
  return [ctx.emitOne('Reshape', [ctx.held(x), ctx.constant(int64Tensor(shape), 'shape')], {}, { dtype: dtypeOf(x), shape })];
};

const expandDims: OpConverter = (ctx) => {
  const x = ctx.input(0);
  const rank = shapeOf(x).length;
  const axis = normalizeAxis(ctx, Number(toNumbers(ctx.constInput(1, 'axis'))[0]), rank + 1);
  const shape = [...shapeOf(x)];
  shape.splice(axis, 0, 1);
  return [ctx.emitOne('Unsqueeze', [ctx.held(x), ctx.constant(int64Tensor([axis]), 'axes')], {}, { dtype: dtypeOf(x), shape })];
};

const squeeze: OpConverter = (ctx) => {
  const x = ctx.input(0);
  const inShape = shapeOf(x);
  const listed = attrInts(ctx.node, 'squeeze_dims', attrInts(ctx.node, 'axis', []));
  const axes = listed.length > 0 ? listed.map((a) => normalizeAxis(ctx, a, inShape.length)) : inShape.flatMap((d, i) => (d === 1 ? [i] : []));
  for (const a of axes) if (inShape[a] !== 1) throw ctx.unsupported(`cannot squeeze axis ${a} of size ${inShape[a]}`);
  const perm = layoutOf(x);
  const heldAxes = axes.map((a) => perm.indexOf(a)).sort((a, b) => a - b);
  const shape = inShape.filter((_, i) => !axes.includes(i));
  return [ctx.emitOne('Squeeze', [ctx.held(x, perm), ctx.constant(int64Tensor(heldAxes), 'axes')], {}, { dtype: dtypeOf(x), shape, perm: permWithoutAxes(perm, axes) })];
};

/** Concatenation in the layout of the first runtime input, so NCHW-held branches stay NCHW. */
function concat(ctx: NodeContext, values: readonly TfValue[], axisValue: number): TfValue {
  const rank = shapeOf(values[0]).length;
  const axis = normalizeAxis(ctx, axisValue, rank);
  const lead = values.find((v) => v.kind === 'dynamic');
  const perm = lead ? layoutOf(lead) : identityPerm(rank);
  const shape = [...shapeOf(values[0])];
  shape[axis] = values.reduce((sum, v) => sum + shapeOf(v)[axis], 0);
  const names = values.map((v) => ctx.held(v, perm));
  return ctx.emitOne('Concat', names, { axis: attr.int(perm.indexOf(axis)) }, { dtype: dtypeOf(values[0]), shape, perm });
}

const concatV2: OpConverter = (ctx) => {
  const n = ctx.inputs.length - 1;
  const axis = Number(toNumbers(ctx.constInput(n, 'axis'))[0]);
  return [concat(ctx, ctx.inputs.slice(0, n), axis)];
};

const pack: OpConverter = (ctx) => {
  const rank = shapeOf(ctx.input(0)).length;
  const axis = normalizeAxis(ctx, attrInt(ctx.node, 'axis', 0), rank + 1);
  const axesName = ctx.constant(int64Tensor([axis]), 'axes');
  const expanded = ctx.inputs.map((v, i) => {
    const shape = [...shapeOf(v)];
    shape.splice(axis, 0, 1);
    return ctx.emitOne('Unsqueeze', [ctx.held(v), axesName], {}, { dtype: dtypeOf(v), shape, name: `${ctx.name}/unsqueeze_${i}` });
  });
  return [concat(ctx, expanded, axis)];
};

function split(ctx: NodeContext, x: TfValue, sizes: number[], axisValue: number): TfValue[] {
  const inShape = shapeOf(x);
  const axis = normalizeAxis(ctx, axisValue, inShape.length);
  const unknown = sizes.filter((s) => s === -1).length;
  if (unknown > 1) throw ctx.unsupported('size_splits has more than one -1');
  const known = sizes.filter((s) => s !== -1).reduce((a, b) => a + b, 0);
  const resolved = sizes.map((s) => (s === -1 ? inShape[axis] - known : s));
  if (resolved.reduce((a, b) => a + b, 0) !== inShape[axis] || resolved.some((s) => s < 0)) {
    throw ctx.unsupported(`split sizes [${sizes.join(',')}] do not add up to ${inShape[axis]}`);
  }
  const perm = layoutOf(x);
  const outputs = resolved.map((s) => {
    const shape = [...inShape];
    shape[axis] = s;
    return { dtype: dtypeOf(x), shape, perm };
  });
  return ctx.emit('Split', [ctx.held(x, perm), ctx.constant(int64Tensor(resolved), 'split')], { axis: attr.int(perm.indexOf(axis)) }, outputs);
}

const splitV: OpConverter = (ctx) => {
  const x = ctx.input(0);
  return split(ctx, x, toNumbers(ctx.constInput(1, 'size_splits')), Number(toNumbers(ctx.constInput(2, 'axis'))[0]));
};

const splitEven: OpConverter = (ctx) => {
  const x = ctx.input(1);
  const axis = normalizeAxis(ctx, Number(toNumbers(ctx.constInput(0, 'axis'))[0]), shapeOf(x).length);
  const count = attrInt(ctx.node, 'num_split', 1);
  if (shapeOf(x)[axis] % count !== 0) throw ctx.unsupported(`axis size ${shapeOf(x)[axis]} does not split into ${count} equal parts`);
  return split(ctx, x, new Array<number>(count).fill(shapeOf(x)[axis] / count), axis);
};

/** TF paddings are [rank, 2] (before, after) pairs; ONNX wants all befores, then all afters. */
function pad(mode: 'constant' | 'mirror'): OpConverter {
  return (ctx) => {
    const x = ctx.input(0);
    const inShape = shapeOf(x);
    const paddings = toNumbers(ctx.constInput(1, 'paddings'));
    if (paddings.length !== inShape.length * 2) throw ctx.unsupported(`paddings must be [${inShape.length}, 2], got ${paddings.length} values`);
    if (paddings.some((p) => p < 0)) throw ctx.unsupported('negative paddings are not supported');
    const perm = layoutOf(x);
    const pads = [...perm.map((a) => paddings[a * 2]), ...perm.map((a) => paddings[a * 2 + 1])];
    const inputs = [ctx.held(x, perm), ctx.constant(int64Tensor(pads), 'pads')];
    let onnxMode = 'constant';
    if (mode === 'mirror') {
      const tfMode = attrString(ctx.node, 'mode', 'REFLECT');
      if (tfMode !== 'REFLECT') throw ctx.unsupported(`MirrorPad mode ${tfMode} is not supported (REFLECT only)`);
      onnxMode = 'reflect';
    } else if (ctx.inputs.length > 2) {
      const value = ctx.constInput(2, 'constant_values');
      inputs.push(ctx.constant({ ...value, shape: [] }, 'pad_value'));
    }
    const shape = inShape.map((d, a) => d + paddings[a * 2] + paddings[a * 2 + 1]);
    return [ctx.emitOne('Pad', inputs, { mode: attr.string(onnxMode) }, { dtype: dtypeOf(x), shape, perm })];
  };
}

/** Shapes are static here, so Shape is a constant. */
const shapeOp: OpConverter = (ctx) => [constValue(int32Tensor([...shapeOf(ctx.input(0))]))];

export const SHAPE_OPS: OpTable = {
  Identity: identity,
  StopGradient: identity,
  Snapshot: identity,
  Transpose: transpose,
  Reshape: reshape,
  ExpandDims: expandDims,
  Squeeze: squeeze,
  ConcatV2: concatV2,
  Pack: pack,
  SplitV: splitV,
  Split: splitEven,
  Pad: pad('constant'),
  PadV2: pad('constant'),
  MirrorPad: pad('mirror'),
  Shape: shapeOp,
};

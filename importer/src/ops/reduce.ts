// Reductions and selections: Mean/Sum/Max/Min over axes, ArgMax, TopKV2. Reductions work in the
// input's layout (axes are mapped); selections need TF order.
import { attr, type Attribute } from '@kestrel/core/onnx/build';
import { attrBool } from '../attrs.js';
import { dtypeOf, shapeOf, type NodeContext, type TfValue } from '../context.js';
import { identityPerm, permWithoutAxes } from '../layout.js';
import { int64Tensor, toNumbers } from '../tensor.js';
import { normalizeAxis } from './shape.js';
import type { OpConverter, OpTable } from './types.js';

function layoutOf(v: TfValue): number[] {
  return v.kind === 'dynamic' ? [...v.perm] : identityPerm(shapeOf(v).length);
}

/** In opset 13 ReduceSum takes its axes as an input; the others still as an attribute. */
function reduce(onnxOp: 'ReduceMean' | 'ReduceSum' | 'ReduceMax' | 'ReduceMin' | 'ReduceProd'): OpConverter {
  return (ctx) => {
    const x = ctx.input(0);
    const inShape = shapeOf(x);
    const axes = [...new Set(toNumbers(ctx.constInput(1, 'reduction_indices')).map((a) => normalizeAxis(ctx, a, inShape.length)))];
    const keepDims = attrBool(ctx.node, 'keep_dims', false);
    const perm = layoutOf(x);
    const heldAxes = axes.map((a) => perm.indexOf(a)).sort((p, q) => p - q);
    const shape = keepDims ? inShape.map((d, i) => (axes.includes(i) ? 1 : d)) : inShape.filter((_, i) => !axes.includes(i));
    const outPerm = keepDims ? perm : permWithoutAxes(perm, axes);
    const inputs = [ctx.held(x, perm)];
    const attributes: Record<string, Attribute> = { keepdims: attr.int(keepDims ? 1 : 0) };
    if (onnxOp === 'ReduceSum') inputs.push(ctx.constant(int64Tensor(heldAxes), 'axes'));
    else attributes.axes = attr.ints(heldAxes);
    return [ctx.emitOne(onnxOp, inputs, attributes, { dtype: dtypeOf(x), shape, perm: outPerm })];
  };
}

/** ONNX index outputs are int64; TF.js works in int32, so indices are cast back. */
function indicesToInt32(ctx: NodeContext, int64Name: string, shape: readonly number[]): TfValue {
  return ctx.emitOne('Cast', [int64Name], { to: attr.int(6) }, { dtype: 'int32', shape, name: `${ctx.name}:1` });
}

const topK: OpConverter = (ctx) => {
  const x = ctx.input(0);
  const inShape = shapeOf(x);
  const k = Number(toNumbers(ctx.constInput(1, 'k'))[0]);
  // sorted=false leaves TF's order unspecified, and sorted order is one valid order: always sort.
  if (inShape.length === 0 || k > inShape[inShape.length - 1]) throw ctx.unsupported(`k=${k} exceeds the last axis of [${inShape.join(',')}]`);
  const shape = [...inShape.slice(0, -1), k];
  const [values, indices] = ctx.emit(
    'TopK',
    [ctx.held(x), ctx.constant(int64Tensor([k]), 'k')],
    { axis: attr.int(-1), largest: attr.int(1), sorted: attr.int(1) },
    [
      { dtype: dtypeOf(x), shape },
      { dtype: 'int64', shape, name: `${ctx.name}/indices_int64` },
    ],
  );
  return [values, indicesToInt32(ctx, indices.name, shape)];
};

const argMax: OpConverter = (ctx) => {
  const x = ctx.input(0);
  const inShape = shapeOf(x);
  const axis = normalizeAxis(ctx, Number(toNumbers(ctx.constInput(1, 'dimension'))[0]), inShape.length);
  const shape = inShape.filter((_, i) => i !== axis);
  const index = ctx.emitOne('ArgMax', [ctx.held(x)], { axis: attr.int(axis), keepdims: attr.int(0) }, { dtype: 'int64', shape, name: `${ctx.name}/int64` });
  return [ctx.emitOne('Cast', [index.name], { to: attr.int(6) }, { dtype: 'int32', shape })];
};

export const REDUCE_OPS: OpTable = {
  Mean: reduce('ReduceMean'),
  Sum: reduce('ReduceSum'),
  Max: reduce('ReduceMax'),
  Min: reduce('ReduceMin'),
  Prod: reduce('ReduceProd'),
  ArgMax: argMax,
  TopKV2: topK,
};

// Elementwise ops: activations, arithmetic, comparisons and casts. None of them cares about
// layout, so their outputs stay in the layout of their (first full-rank) input.
import { attr, type Attribute } from '@kestrel/core/onnx/build';
import { attrFloat, attrString } from '../attrs.js';
import { dtypeOf, shapeOf, type DynamicValue, type NodeContext, type TfValue } from '../context.js';
import { identityPerm } from '../layout.js';
import { float32Tensor, type HostDType } from '../tensor.js';
import { alignOperands } from './broadcast.js';
import type { OpConverter, OpTable } from './types.js';

/** A one-input op held in the input's layout. */
function unaryOnnx(ctx: NodeContext, x: TfValue, opType: string, attributes: Record<string, Attribute> = {}, extraInputs: string[] = [], name?: string): DynamicValue {
  const perm = x.kind === 'dynamic' ? x.perm : identityPerm(shapeOf(x).length);
  return ctx.emitOne(opType, [ctx.held(x, perm), ...extraInputs], attributes, { dtype: dtypeOf(x), shape: shapeOf(x), perm, name });
}

function unary(opType: string, attributes: (ctx: NodeContext) => Record<string, Attribute> = () => ({})): OpConverter {
  return (ctx) => [unaryOnnx(ctx, ctx.input(0), opType, attributes(ctx))];
}

/** Clip to [0, 6]: ONNX has no Relu6, and Clip is what quantizers fold into the zero point. */
function relu6(ctx: NodeContext, x: TfValue, name?: string): DynamicValue {
  return unaryOnnx(ctx, x, 'Clip', {}, [ctx.constant(float32Tensor([0], []), 'clip_min'), ctx.constant(float32Tensor([6], []), 'clip_max')], name);
}

export type Activation = 'Relu' | 'Relu6' | 'LeakyRelu' | 'Elu' | 'Sigmoid' | 'Tanh';

export const FUSABLE_ACTIVATIONS: readonly string[] = ['Relu', 'Relu6', 'LeakyRelu', 'Elu', 'Sigmoid', 'Tanh'];

/** The activation of a fused TF op (_FusedConv2D fused_ops) applied to `x`. */
export function applyActivation(ctx: NodeContext, activation: Activation, x: TfValue, leakyAlpha: number): DynamicValue {
  switch (activation) {
    case 'Relu6':
      return relu6(ctx, x);
    case 'LeakyRelu':
      return unaryOnnx(ctx, x, 'LeakyRelu', { alpha: attr.float(leakyAlpha) });
    default:
      return unaryOnnx(ctx, x, activation);
  }
}

function binary(opType: string, outDtype?: HostDType): OpConverter {
  return (ctx) => {
    const a = ctx.input(0);
    const b = ctx.input(1);
    const { names, shape, perm } = alignOperands(ctx, [a, b]);
    return [ctx.emitOne(opType, names, {}, { dtype: outDtype ?? dtypeOf(a), shape, perm })];
  };
}

/**
 * TF floor division and floor modulo. ONNX Mod with fmod=0 is the floor modulo for integers;
 * integer FloorDiv is then exact as (a - mod) / b. Floats go through Floor(a / b).
 */
function floorDivMod(kind: 'div' | 'mod'): OpConverter {
  return (ctx) => {
    const a = ctx.input(0);
    const dtype = dtypeOf(a);
    const { names, shape, perm } = alignOperands(ctx, [a, ctx.input(1)]);
    const [x, y] = names;
    const base = ctx.name;
    const out = { dtype, shape, perm };
    if (dtype === 'int32') {
      if (kind === 'mod') return [ctx.emitOne('Mod', [x, y], { fmod: attr.int(0) }, out)];
      const mod = ctx.emitOne('Mod', [x, y], { fmod: attr.int(0) }, { ...out, name: `${base}/mod` });
      const exact = ctx.emitOne('Sub', [x, mod.name], {}, { ...out, name: `${base}/sub` });
      return [ctx.emitOne('Div', [exact.name, y], {}, out)];
    }
    const quotient = ctx.emitOne('Div', [x, y], {}, { ...out, name: `${base}/div` });
    if (kind === 'div') return [ctx.emitOne('Floor', [quotient.name], {}, out)];
    const floored = ctx.emitOne('Floor', [quotient.name], {}, { ...out, name: `${base}/floor` });
    const product = ctx.emitOne('Mul', [floored.name, y], {}, { ...out, name: `${base}/mul` });
    return [ctx.emitOne('Sub', [x, product.name], {}, out)];
  };
}

const ONNX_CAST_TO: Record<HostDType, number> = { float32: 1, int32: 6, int64: 7, bool: 9 };

const cast: OpConverter = (ctx) => {
  const x = ctx.input(0);
  const to = ctx.dtypeAttr('DstT');
  if (dtypeOf(x) === to) return [x];
  const perm = x.kind === 'dynamic' ? x.perm : identityPerm(shapeOf(x).length);
  return [ctx.emitOne('Cast', [ctx.held(x, perm)], { to: attr.int(ONNX_CAST_TO[to]) }, { dtype: to, shape: shapeOf(x), perm })];
};

/** BiasAdd adds a [C] vector along the channel axis (last for NHWC). */
const biasAdd: OpConverter = (ctx) => {
  const format = attrString(ctx.node, 'data_format', 'NHWC');
  if (format !== 'NHWC') throw ctx.unsupported(`data_format ${format} is not supported (NHWC only)`);
  return binary('Add')(ctx);
};

const square: OpConverter = (ctx) => {
  const x = ctx.input(0);
  const perm = x.kind === 'dynamic' ? x.perm : identityPerm(shapeOf(x).length);
  const held = ctx.held(x, perm);
  return [ctx.emitOne('Mul', [held, held], {}, { dtype: dtypeOf(x), shape: shapeOf(x), perm })];
};

const rsqrt: OpConverter = (ctx) => {
  const root = unaryOnnx(ctx, ctx.input(0), 'Sqrt', {}, [], `${ctx.name}/sqrt`);
  return [unaryOnnx(ctx, root, 'Reciprocal')];
};

const softmax: OpConverter = (ctx) => {
  const x = ctx.input(0);
  const rank = shapeOf(x).length;
  const perm = x.kind === 'dynamic' ? x.perm : identityPerm(rank);
  // TF Softmax works on the last logical axis, wherever the layout holds it.
  return [unaryOnnx(ctx, x, 'Softmax', { axis: attr.int(perm.indexOf(rank - 1)) })];
};

export const ELEMENTWISE_OPS: OpTable = {
  Relu: unary('Relu'),
  Relu6: (ctx) => [relu6(ctx, ctx.input(0))],
  LeakyRelu: unary('LeakyRelu', (ctx) => ({ alpha: attr.float(attrFloat(ctx.node, 'alpha', 0.2)) })),
  Elu: unary('Elu'),
  Sigmoid: unary('Sigmoid'),
  Tanh: unary('Tanh'),
  Exp: unary('Exp'),
  Log: unary('Log'),
  Sqrt: unary('Sqrt'),
  Rsqrt: rsqrt,
  Neg: unary('Neg'),
  Abs: unary('Abs'),
  Floor: unary('Floor'),
  Ceil: unary('Ceil'),
  Square: square,
  Softmax: softmax,
  Cast: cast,
  Add: binary('Add'),
  AddV2: binary('Add'),
  BiasAdd: biasAdd,
  Sub: binary('Sub'),
  Mul: binary('Mul'),
  RealDiv: binary('Div'),
  Maximum: binary('Max'),
  Minimum: binary('Min'),
  Pow: binary('Pow'),
  FloorDiv: floorDivMod('div'),
  FloorMod: floorDivMod('mod'),
  Equal: binary('Equal', 'bool'),
  Greater: binary('Greater', 'bool'),
  Less: binary('Less', 'bool'),
  GreaterEqual: binary('GreaterOrEqual', 'bool'),
  LessEqual: binary('LessOrEqual', 'bool'),
};

// StridedSlice, Slice and GatherV2. TF's StridedSlice masks are resolved at conversion time
// against the static shape into plain per-axis start/end/step, which ONNX Slice takes as is.
import { attr } from '@kestrel/core/onnx/build';
import { attrInt } from '../attrs.js';
import { dtypeOf, shapeOf, type NodeContext, type TfValue } from '../context.js';
import { identityPerm, permWithoutAxes } from '../layout.js';
import { int64Tensor, toNumbers } from '../tensor.js';
import { normalizeAxis } from './shape.js';
import type { OpConverter, OpTable } from './types.js';

export interface SliceMasks {
  begin: number;
  end: number;
  ellipsis: number;
  newAxis: number;
  shrinkAxis: number;
}

/** One axis of a resolved slice: indices start, start+step, ... stopping before end. */
export interface AxisSlice {
  start: number;
  /** Exclusive; -1 with a negative step means "through index 0". */
  end: number;
  step: number;
  size: number;
}

export interface ResolvedSlice {
  axes: AxisSlice[];
  /** Axes removed afterwards (shrink_axis_mask). */
  shrink: number[];
  /** Shape after slicing and shrinking. */
  shape: number[];
}

/** TF StridedSlice semantics on a static shape (no ellipsis or new axes). */
export function resolveStridedSlice(shape: readonly number[], begin: readonly number[], end: readonly number[], strides: readonly number[], masks: SliceMasks, fail: (reason: string) => Error): ResolvedSlice {
  if (masks.ellipsis !== 0 || masks.newAxis !== 0) throw fail('ellipsis_mask and new_axis_mask are not supported');
  if (begin.length > shape.length || end.length !== begin.length || strides.length !== begin.length) {
    throw fail(`begin/end/strides lengths (${begin.length}/${end.length}/${strides.length}) do not fit rank ${shape.length}`);
  }
  const axes: AxisSlice[] = [];
  const shrink: number[] = [];
  for (let i = 0; i < shape.length; i++) {
    const n = shape[i];
    if (i >= begin.length) {
      axes.push({ start: 0, end: n, step: 1, size: n });
      continue;
    }
    const bit = 1 << i;
    const step = strides[i];
    if (step === 0) throw fail(`stride 0 on axis ${i}`);
    if (masks.shrinkAxis & bit) {
      const start = begin[i] < 0 ? begin[i] + n : begin[i];
      if (start < 0 || start >= n) throw fail(`index ${begin[i]} is out of range for axis ${i} of size ${n}`);
      axes.push({ start, end: start + 1, step: 1, size: 1 });
      shrink.push(i);
      continue;
    }
    const clamp = (v: number, lo: number, hi: number) => Math.min(Math.max(v, lo), hi);
    const wrap = (v: number) => (v < 0 ? v + n : v);
    let start: number;
    let stop: number;
    if (step > 0) {
      start = masks.begin & bit ? 0 : clamp(wrap(begin[i]), 0, n);
      stop = masks.end & bit ? n : clamp(wrap(end[i]), 0, n);
    } else {
      start = masks.begin & bit ? n - 1 : clamp(wrap(begin[i]), -1, n - 1);
      stop = masks.end & bit ? -1 : clamp(wrap(end[i]), -1, n - 1);
    }
    const size = step > 0 ? Math.max(0, Math.ceil((stop - start) / step)) : Math.max(0, Math.ceil((start - stop) / -step));
    axes.push({ start, end: stop, step, size });
  }
  const outShape = axes.flatMap((a, i) => (shrink.includes(i) ? [] : [a.size]));
  return { axes, shrink, shape: outShape };
}

/** ONNX Slice + Squeeze for a resolved slice, in the input's layout. */
function emitSlice(ctx: NodeContext, x: TfValue, slice: ResolvedSlice): TfValue[] {
  const inShape = shapeOf(x);
  const perm = x.kind === 'dynamic' ? [...x.perm] : identityPerm(inShape.length);
  const sliced = slice.axes.flatMap((a, i) => (a.start === 0 && a.end === inShape[i] && a.step === 1 ? [] : [i]));
  let current = ctx.held(x, perm);
  const slicedShape = slice.axes.map((a) => a.size);
  const hasShrink = slice.shrink.length > 0;
  if (sliced.length === 0 && !hasShrink) return [x];
  if (sliced.length > 0) {
    const a = sliced.map((i) => slice.axes[i]);
    // ONNX reads a negative end as counting from the back; -n-1 is "before index 0".
    const ends = sliced.map((i) => (slice.axes[i].end < 0 ? -inShape[i] - 1 : slice.axes[i].end));
    const inputs = [
      current,
      ctx.constant(int64Tensor(a.map((s) => s.start)), 'starts'),
      ctx.constant(int64Tensor(ends), 'ends'),
      ctx.constant(int64Tensor(sliced.map((i) => perm.indexOf(i))), 'axes'),
      ctx.constant(int64Tensor(a.map((s) => s.step)), 'steps'),
    ];
    const out = ctx.emitOne('Slice', inputs, {}, { dtype: dtypeOf(x), shape: slicedShape, perm, name: hasShrink ? `${ctx.name}/slice` : undefined });
    if (!hasShrink) return [out];
    current = out.name;
  }
  const heldAxes = slice.shrink.map((a) => perm.indexOf(a)).sort((p, q) => p - q);
  return [ctx.emitOne('Squeeze', [current, ctx.constant(int64Tensor(heldAxes), 'axes')], {}, { dtype: dtypeOf(x), shape: slice.shape, perm: permWithoutAxes(perm, slice.shrink) })];
}

export function stridedSliceMasks(ctx: NodeContext): SliceMasks {
  return {
    begin: attrInt(ctx.node, 'begin_mask', 0),
    end: attrInt(ctx.node, 'end_mask', 0),
    ellipsis: attrInt(ctx.node, 'ellipsis_mask', 0),
    newAxis: attrInt(ctx.node, 'new_axis_mask', 0),
    shrinkAxis: attrInt(ctx.node, 'shrink_axis_mask', 0),
  };
}

const stridedSlice: OpConverter = (ctx) => {
  const x = ctx.input(0);
  const spec = resolveStridedSlice(
    shapeOf(x),
    toNumbers(ctx.constInput(1, 'begin')),
    toNumbers(ctx.constInput(2, 'end')),
    toNumbers(ctx.constInput(3, 'strides')),
    stridedSliceMasks(ctx),
    (reason) => ctx.unsupported(reason),
  );
  return emitSlice(ctx, x, spec);
};

/** TF Slice(x, begin, size): size -1 runs to the end of the axis. */
export function resolveSlice(shape: readonly number[], begin: readonly number[], size: readonly number[], fail: (reason: string) => Error): ResolvedSlice {
  if (begin.length !== shape.length || size.length !== shape.length) throw fail(`begin/size must have ${shape.length} values`);
  const axes = shape.map((n, i) => {
    const len = size[i] === -1 ? n - begin[i] : size[i];
    if (begin[i] < 0 || len < 0 || begin[i] + len > n) throw fail(`slice [${begin[i]}, +${size[i]}) is out of range for axis ${i} of size ${n}`);
    return { start: begin[i], end: begin[i] + len, step: 1, size: len };
  });
  return { axes, shrink: [], shape: axes.map((a) => a.size) };
}

const slice: OpConverter = (ctx) => {
  const x = ctx.input(0);
  const spec = resolveSlice(shapeOf(x), toNumbers(ctx.constInput(1, 'begin')), toNumbers(ctx.constInput(2, 'size')), (reason) => ctx.unsupported(reason));
  return emitSlice(ctx, x, spec);
};

const gatherV2: OpConverter = (ctx) => {
  const params = ctx.input(0);
  const indices = ctx.input(1);
  if (attrInt(ctx.node, 'batch_dims', 0) !== 0) throw ctx.unsupported('batch_dims other than 0 is not supported');
  const paramsShape = shapeOf(params);
  const axis = normalizeAxis(ctx, Number(toNumbers(ctx.constInput(2, 'axis'))[0]), paramsShape.length);
  if (dtypeOf(indices) !== 'int32') throw ctx.unsupported(`indices must be int32, got ${dtypeOf(indices)}`);
  const shape = [...paramsShape.slice(0, axis), ...shapeOf(indices), ...paramsShape.slice(axis + 1)];
  return [ctx.emitOne('Gather', [ctx.held(params), ctx.held(indices)], { axis: attr.int(axis) }, { dtype: dtypeOf(params), shape })];
};

export const SLICE_OPS: OpTable = {
  StridedSlice: stridedSlice,
  Slice: slice,
  GatherV2: gatherV2,
};

// What Conv and Pool ops share: TF data formats, strides/dilations in format order, and TF's
// VALID/SAME/EXPLICIT padding turned into ONNX's explicit [top, left, bottom, right].
import { attrInts, attrString } from '../attrs.js';
import { shapeOf, type NodeContext, type TfValue } from '../context.js';
import { NHWC_AS_NCHW, identityPerm } from '../layout.js';

export interface SpatialInput {
  /** Layout in which ONNX needs the input: NCHW. */
  perm: number[];
  format: 'NHWC' | 'NCHW';
  batch: number;
  height: number;
  width: number;
  channels: number;
}

export function spatialInput(ctx: NodeContext, x: TfValue): SpatialInput {
  const format = attrString(ctx.node, 'data_format', 'NHWC');
  if (format !== 'NHWC' && format !== 'NCHW') throw ctx.unsupported(`data_format ${format} is not supported (NHWC or NCHW)`);
  const shape = shapeOf(x);
  if (shape.length !== 4) throw ctx.unsupported(`input must be 4-D, got shape [${shape.join(',')}]`);
  const [n, a, b, c] = shape;
  return format === 'NHWC'
    ? { perm: [...NHWC_AS_NCHW], format, batch: n, height: a, width: b, channels: c }
    : { perm: identityPerm(4), format, batch: n, height: b, width: c, channels: a };
}

/** The [h, w] part of a 4-element TF attribute given in data-format order. */
export function spatialPair(ctx: NodeContext, name: string, format: 'NHWC' | 'NCHW'): [number, number] {
  const v = attrInts(ctx.node, name, [1, 1, 1, 1]);
  if (v.length !== 4) throw ctx.unsupported(`attribute ${name} must have 4 values, got ${v.length}`);
  return format === 'NHWC' ? [v[1], v[2]] : [v[2], v[3]];
}

/** TF SAME: output ceil(in / stride), padding split with the odd pixel at the end. */
export function samePadding(size: number, kernel: number, stride: number, dilation: number): [number, number] {
  const effective = (kernel - 1) * dilation + 1;
  const out = Math.ceil(size / stride);
  const total = Math.max((out - 1) * stride + effective - size, 0);
  const begin = Math.floor(total / 2);
  return [begin, total - begin];
}

export interface Padding2d {
  /** ONNX order: [top, left, bottom, right]. */
  pads: [number, number, number, number];
  outHeight: number;
  outWidth: number;
}

export function padding2d(ctx: NodeContext, input: SpatialInput, kernel: [number, number], strides: [number, number], dilations: [number, number]): Padding2d {
  const mode = attrString(ctx.node, 'padding', 'VALID');
  let top = 0;
  let bottom = 0;
  let left = 0;
  let right = 0;
  if (mode === 'SAME') {
    [top, bottom] = samePadding(input.height, kernel[0], strides[0], dilations[0]);
    [left, right] = samePadding(input.width, kernel[1], strides[1], dilations[1]);
  } else if (mode === 'EXPLICIT') {
    const p = attrInts(ctx.node, 'explicit_paddings', []);
    if (p.length !== 8) throw ctx.unsupported(`explicit_paddings must have 8 values, got ${p.length}`);
    const [h, w] = input.format === 'NHWC' ? [1, 2] : [2, 3];
    [top, bottom, left, right] = [p[h * 2], p[h * 2 + 1], p[w * 2], p[w * 2 + 1]];
  } else if (mode !== 'VALID') {
    throw ctx.unsupported(`padding ${mode} is not supported (VALID, SAME, EXPLICIT)`);
  }
  const outSize = (size: number, k: number, s: number, d: number, before: number, after: number) => Math.floor((size + before + after - ((k - 1) * d + 1)) / s) + 1;
  return {
    pads: [top, left, bottom, right],
    outHeight: outSize(input.height, kernel[0], strides[0], dilations[0], top, bottom),
    outWidth: outSize(input.width, kernel[1], strides[1], dilations[1], left, right),
  };
}

/** TF shape of an output with the given spatial size and channels, in the input's data format. */
export function spatialOutputShape(input: SpatialInput, height: number, width: number, channels: number): number[] {
  return input.format === 'NHWC' ? [input.batch, height, width, channels] : [input.batch, channels, height, width];
}

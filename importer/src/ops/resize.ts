// Image resizing. TF's two flags pick the sampling grid, and ONNX Resize must use the same one
// or every upsampled feature map shifts by half a pixel:
//   half_pixel_centers → half_pixel (nearest: tf_half_pixel_for_nn), align_corners →
//   align_corners, neither → asymmetric (TF 1.x behaviour).
import { attr, type Attribute } from '@kestrel/core/onnx/build';
import { attrBool } from '../attrs.js';
import { dtypeOf, shapeOf, type NodeContext } from '../context.js';
import { NHWC_AS_NCHW } from '../layout.js';
import { int64Tensor, toNumbers } from '../tensor.js';
import type { OpConverter, OpTable } from './types.js';

function resizeAttributes(ctx: NodeContext, mode: 'linear' | 'nearest'): Record<string, Attribute> {
  const alignCorners = attrBool(ctx.node, 'align_corners', false);
  const halfPixel = attrBool(ctx.node, 'half_pixel_centers', false);
  if (alignCorners && halfPixel) throw ctx.unsupported('align_corners and half_pixel_centers cannot both be set');
  if (mode === 'linear') {
    const transform = alignCorners ? 'align_corners' : halfPixel ? 'half_pixel' : 'asymmetric';
    return { mode: attr.string('linear'), coordinate_transformation_mode: attr.string(transform) };
  }
  if (alignCorners) {
    return { mode: attr.string('nearest'), coordinate_transformation_mode: attr.string('align_corners'), nearest_mode: attr.string('round_prefer_ceil') };
  }
  const transform = halfPixel ? 'tf_half_pixel_for_nn' : 'asymmetric';
  return { mode: attr.string('nearest'), coordinate_transformation_mode: attr.string(transform), nearest_mode: attr.string('floor') };
}

function resize(mode: 'linear' | 'nearest'): OpConverter {
  return (ctx) => {
    const x = ctx.input(0);
    const inShape = shapeOf(x);
    if (inShape.length !== 4) throw ctx.unsupported(`images must be 4-D NHWC, got [${inShape.join(',')}]`);
    const size = toNumbers(ctx.constInput(1, 'size'));
    if (size.length !== 2) throw ctx.unsupported(`size must hold [height, width], got ${size.length} values`);
    const [n, , , c] = inShape;
    const [h, w] = size;
    // ONNX Runtime's linear Resize is fastest (and only general) on NCHW: hold the input so.
    const inputs = [ctx.held(x, NHWC_AS_NCHW), '', '', ctx.constant(int64Tensor([n, c, h, w]), 'sizes')];
    return [ctx.emitOne('Resize', inputs, resizeAttributes(ctx, mode), { dtype: dtypeOf(x), shape: [n, h, w, c], perm: [...NHWC_AS_NCHW] })];
  };
}

export const RESIZE_OPS: OpTable = {
  ResizeBilinear: resize('linear'),
  ResizeNearestNeighbor: resize('nearest'),
};

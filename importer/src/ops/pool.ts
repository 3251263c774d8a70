// Pooling. ONNX MaxPool pads with -inf and AveragePool (count_include_pad=0) leaves padding out
// of the mean: both are what TF SAME pooling does.
import { attr } from '@kestrel/core/onnx/build';
import { dtypeOf, type NodeContext } from '../context.js';
import { padding2d, spatialInput, spatialOutputShape, spatialPair } from './spatial.js';
import type { OpConverter, OpTable } from './types.js';

function pool(onnxOp: 'MaxPool' | 'AveragePool'): OpConverter {
  return (ctx: NodeContext) => {
    const x = ctx.input(0);
    const input = spatialInput(ctx, x);
    const kernel = spatialPair(ctx, 'ksize', input.format);
    const strides = spatialPair(ctx, 'strides', input.format);
    const padding = padding2d(ctx, input, kernel, strides, [1, 1]);
    const attributes = { kernel_shape: attr.ints(kernel), strides: attr.ints(strides), pads: attr.ints(padding.pads) };
    const shape = spatialOutputShape(input, padding.outHeight, padding.outWidth, input.channels);
    return [ctx.emitOne(onnxOp, [ctx.held(x, input.perm)], attributes, { dtype: dtypeOf(x), shape, perm: input.perm })];
  };
}

export const POOL_OPS: OpTable = {
  MaxPool: pool('MaxPool'),
  AvgPool: pool('AveragePool'),
};

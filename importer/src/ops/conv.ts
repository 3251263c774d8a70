// Convolutions. TF filters are HWIO (depthwise: H, W, in, multiplier); ONNX wants OIHW with the
// weights as initializers and the bias as the Conv's third input, which is also what ONNX
// Runtime's quantizer and fusions expect.
import { attr } from '@kestrel/core/onnx/build';
import { attrFloat, attrInt, attrStrings } from '../attrs.js';
import { dtypeOf, type NodeContext } from '../context.js';
import { reshapeHost, transposeHost, type HostTensor } from '../tensor.js';
import { FUSABLE_ACTIVATIONS, applyActivation, type Activation } from './elementwise.js';
import { padding2d, spatialInput, spatialOutputShape, spatialPair } from './spatial.js';
import type { OpConverter, OpTable } from './types.js';

interface FusedOps {
  bias?: HostTensor;
  activation?: Activation;
}

/** `fused_ops` of _FusedConv2D / FusedDepthwiseConv2dNative: BiasAdd then at most one activation. */
function fusedOps(ctx: NodeContext): FusedOps {
  const ops = attrStrings(ctx.node, 'fused_ops');
  const numArgs = attrInt(ctx.node, 'num_args', 0);
  const result: FusedOps = {};
  let rest = ops;
  if (rest[0] === 'BiasAdd') {
    if (numArgs < 1) throw ctx.unsupported('fused BiasAdd without a bias input');
    result.bias = ctx.constInput(2, 'bias');
    rest = rest.slice(1);
  }
  if (rest.length > 1 || (rest.length === 1 && !FUSABLE_ACTIVATIONS.includes(rest[0]))) {
    throw ctx.unsupported(`fused_ops [${ops.join(', ')}] are not supported (BiasAdd followed by one of ${FUSABLE_ACTIVATIONS.join(', ')})`);
  }
  if (rest.length === 1) result.activation = rest[0] as Activation;
  return result;
}

function convolution(depthwise: boolean, fused: boolean): OpConverter {
  return (ctx) => {
    const x = ctx.input(0);
    if (dtypeOf(x) !== 'float32') throw ctx.unsupported(`only float32 convolutions are supported, got ${dtypeOf(x)}`);
    const input = spatialInput(ctx, x);
    const filter = ctx.constInput(1, 'filter');
    if (filter.shape.length !== 4) throw ctx.unsupported(`filter must be 4-D, got [${filter.shape.join(',')}]`);
    const [kh, kw, filterIn, filterOut] = filter.shape;
    let weights: HostTensor;
    let group: number;
    let outChannels: number;
    if (depthwise) {
      if (filterIn !== input.channels) throw ctx.unsupported(`filter has ${filterIn} input channels, input has ${input.channels}`);
      // [kh, kw, C, M] → [C, M, kh, kw] → [C*M, 1, kh, kw]: output channel c*M+m, as TF orders it.
      outChannels = filterIn * filterOut;
      weights = reshapeHost(transposeHost(filter, [2, 3, 0, 1]), [outChannels, 1, kh, kw]);
      group = input.channels;
    } else {
      if (input.channels % filterIn !== 0) throw ctx.unsupported(`input channels ${input.channels} are not a multiple of filter input channels ${filterIn}`);
      outChannels = filterOut;
      weights = transposeHost(filter, [3, 2, 0, 1]);
      group = input.channels / filterIn;
    }
    const strides = spatialPair(ctx, 'strides', input.format);
    const dilations = spatialPair(ctx, 'dilations', input.format);
    const padding = padding2d(ctx, input, [kh, kw], strides, dilations);
    const fusion = fused ? fusedOps(ctx) : {};
    const inputs = [ctx.held(x, input.perm), ctx.constant(weights, 'weights')];
    if (fusion.bias) {
      if (fusion.bias.shape.length !== 1 || fusion.bias.shape[0] !== outChannels) throw ctx.unsupported(`bias shape [${fusion.bias.shape.join(',')}] does not match ${outChannels} output channels`);
      inputs.push(ctx.constant(fusion.bias, 'bias'));
    }
    const attributes = {
      kernel_shape: attr.ints([kh, kw]),
      strides: attr.ints(strides),
      dilations: attr.ints(dilations),
      pads: attr.ints(padding.pads),
      group: attr.int(group),
    };
    const shape = spatialOutputShape(input, padding.outHeight, padding.outWidth, outChannels);
    const convName = fusion.activation ? `${ctx.name}/conv` : undefined;
    const conv = ctx.emitOne('Conv', inputs, attributes, { dtype: 'float32', shape, perm: input.perm, name: convName });
    if (!fusion.activation) return [conv];
    return [applyActivation(ctx, fusion.activation, conv, attrFloat(ctx.node, 'leakyrelu_alpha', 0.2))];
  };
}

export const CONV_OPS: OpTable = {
  Conv2D: convolution(false, false),
  _FusedConv2D: convolution(false, true),
  DepthwiseConv2dNative: convolution(true, false),
  FusedDepthwiseConv2dNative: convolution(true, true),
};


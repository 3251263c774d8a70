// Registers the project's gradient kernels on the wasm backend. Conv2DBackpropInput replaces the
// backend's own (correct but slow) kernel and Identity its copying one; the others fill gaps that
// stop training outright.
import * as tf from '@tensorflow/tfjs';
import { conv2DBackpropFilter, conv2DBackpropInput } from './conv2d-backprop.js';
import { depthwiseConv2dNativeBackpropFilter, depthwiseConv2dNativeBackpropInput } from './depthwise-backprop.js';
import { sharedIdentity } from './identity.js';
import { channelReduce } from './channel-reduce.js';

const KERNELS: Array<{ name: string; func: unknown }> = [
  { name: 'Conv2DBackpropFilter', func: conv2DBackpropFilter },
  { name: 'Conv2DBackpropInput', func: conv2DBackpropInput },
  { name: 'DepthwiseConv2dNativeBackpropFilter', func: depthwiseConv2dNativeBackpropFilter },
  { name: 'DepthwiseConv2dNativeBackpropInput', func: depthwiseConv2dNativeBackpropInput },
  { name: 'Identity', func: sharedIdentity },
];

/** Names of the kernels this module provides for the wasm backend. */
export const WASM_GRADIENT_KERNELS = KERNELS.map((k) => k.name);

/** The backend's own Sum and Mean, kept for the reductions the fast path does not cover. */
let originals: { Sum: tf.KernelFunc; Mean: tf.KernelFunc } | undefined;

/** Idempotent; call before the first gradient runs on wasm. */
export function registerWasmGradientKernels(): void {
  originals ??= { Sum: tf.getKernel('Sum', 'wasm')!.kernelFunc, Mean: tf.getKernel('Mean', 'wasm')!.kernelFunc };
  const reductions = [
    { name: 'Sum', func: channelReduce(originals.Sum as never, false) },
    { name: 'Mean', func: channelReduce(originals.Mean as never, true) },
  ];
  for (const { name, func } of [...KERNELS, ...reductions]) {
    if (tf.getKernel(name, 'wasm')) tf.unregisterKernel(name, 'wasm');
    tf.registerKernel({ kernelName: name, backendName: 'wasm', kernelFunc: func as tf.KernelFunc });
  }
}

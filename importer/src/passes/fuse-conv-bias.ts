// Conv → Add(per-channel constant) becomes one Conv with a bias input. TF graphs keep the bias
// as a separate Add (NanoDet has one after each of its 34 convs); a bias inside the Conv is
// what ONNX Runtime fuses and what a quantizer turns into an int32 bias.
import type { OnnxGraph, OnnxNode } from '../ir/graph.js';
import { float32Tensor, toNumbers, type HostTensor } from '../tensor.js';

/** The [M] bias vector an Add constant is, if it is a per-output-channel vector for NCHW. */
function channelBias(t: HostTensor, channels: number): number[] | undefined {
  if (t.dtype !== 'float32' || t.shape.length > 4) return undefined;
  const aligned = [...new Array<number>(4 - t.shape.length).fill(1), ...t.shape];
  if (aligned[0] !== 1 || aligned[2] !== 1 || aligned[3] !== 1) return undefined;
  if (aligned[1] === channels) return toNumbers(t);
  if (aligned[1] === 1) return new Array<number>(channels).fill(Number(t.data[0]));
  return undefined;
}

export function fuseConvBias(graph: OnnxGraph): number {
  const producers = graph.producers();
  const consumers = graph.consumers();
  const removed = new Set<OnnxNode>();
  for (const add of graph.nodes) {
    if (add.opType !== 'Add') continue;
    for (const side of [0, 1]) {
      const conv = producers.get(add.inputs[side]);
      const constant = graph.initializers.get(add.inputs[1 - side]);
      if (!conv || conv.opType !== 'Conv' || !constant || conv.outputs.length !== 1) continue;
      const convOut = conv.outputs[0];
      if ((consumers.get(convOut)?.length ?? 0) !== 1 || graph.isGraphOutput(convOut)) continue;
      const weights = graph.initializers.get(conv.inputs[1]);
      if (!weights) continue;
      const channels = weights.shape[0];
      const bias = channelBias(constant, channels);
      if (!bias) continue;
      const existing = conv.inputs[2] ? graph.initializers.get(conv.inputs[2]) : undefined;
      if (conv.inputs[2] && !existing) continue;
      const previous = existing ? toNumbers(existing) : new Array<number>(channels).fill(0);
      const summed = float32Tensor(bias.map((b, i) => b + previous[i]));
      conv.inputs[2] = graph.addInitializer(`${add.outputs[0]}/bias`, summed);
      conv.outputs[0] = add.outputs[0];
      removed.add(add);
      break;
    }
  }
  graph.removeNodes(removed);
  return removed.size;
}

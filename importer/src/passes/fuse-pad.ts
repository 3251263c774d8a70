// Pad → Conv / MaxPool becomes the Conv's or MaxPool's own pads. Graphs converted from ONNX to
// TF carry an explicit Pad before each Conv (TF has no asymmetric SAME); in ONNX the Conv pads
// are free, while a Pad node copies the whole feature map.
import type { OnnxGraph, OnnxNode } from '../ir/graph.js';
import { toNumbers } from '../tensor.js';

function padValue(graph: OnnxGraph, pad: OnnxNode): number | undefined {
  const name = pad.inputs[2];
  if (!name) return 0;
  const t = graph.initializers.get(name);
  return t && t.data.length === 1 ? Number(t.data[0]) : undefined;
}

export function fusePadIntoConvPool(graph: OnnxGraph): number {
  const consumers = graph.consumers();
  const removed = new Set<OnnxNode>();
  for (const pad of graph.nodes) {
    if (pad.opType !== 'Pad') continue;
    const mode = pad.attributes.mode;
    if (mode && !(mode.type === 'string' && mode.value === 'constant')) continue;
    const readers = consumers.get(pad.outputs[0]) ?? [];
    if (readers.length !== 1 || graph.isGraphOutput(pad.outputs[0])) continue;
    const target = readers[0];
    if (target.inputs[0] !== pad.outputs[0]) continue;
    const value = padValue(graph, pad);
    // Conv pads with zeros; MaxPool's pads never win the max, exactly like padding with -inf.
    const fits = (target.opType === 'Conv' && value === 0) || (target.opType === 'MaxPool' && value === -Infinity);
    if (!fits) continue;
    const padsTensor = graph.initializers.get(pad.inputs[1]);
    if (!padsTensor || padsTensor.data.length !== 8) continue;
    const p = toNumbers(padsTensor);
    // Only spatial padding can move into the op: batch and channel pads must be zero.
    if (p[0] !== 0 || p[1] !== 0 || p[4] !== 0 || p[5] !== 0 || p.some((v) => v < 0)) continue;
    const current = target.attributes.pads;
    const base = current && current.type === 'ints' ? current.value : [0, 0, 0, 0];
    target.attributes.pads = { type: 'ints', value: [base[0] + p[2], base[1] + p[3], base[2] + p[6], base[3] + p[7]] };
    target.inputs[0] = pad.inputs[0];
    removed.add(pad);
  }
  graph.removeNodes(removed);
  return removed.size;
}

// A read-mostly view of an ONNX graph: who produces and who consumes each tensor, which names
// are weights. Passes that rewrite the graph edit the protobuf and build a fresh view after.
import type { ModelProto } from '@kestrel/core/onnx/io';
import { KestrelError } from '@kestrel/core/util/errors';
import type { NodeProto, GraphProto } from './nodes.js';
import { getAttribute } from './nodes.js';
import type { TensorProto } from '@kestrel/core/onnx/tensors';

export class GraphView {
  readonly graph: GraphProto;
  readonly nodes: NodeProto[];
  readonly initializers = new Map<string, TensorProto>();
  readonly producers = new Map<string, NodeProto>();
  readonly consumers = new Map<string, NodeProto[]>();
  readonly inputs = new Set<string>();
  readonly outputs = new Set<string>();

  constructor(readonly model: ModelProto) {
    if (!model.graph) throw new KestrelError('E_MODEL_NOT_ONNX', 'model has no graph');
    this.graph = model.graph;
    this.nodes = this.graph.node ?? [];
    for (const t of this.graph.initializer ?? []) if (t.name) this.initializers.set(t.name, t);
    for (const v of this.graph.input ?? []) if (v.name && !this.initializers.has(v.name)) this.inputs.add(v.name);
    for (const v of this.graph.output ?? []) if (v.name) this.outputs.add(v.name);
    for (const node of this.nodes) {
      for (const out of node.output ?? []) if (out) this.producers.set(out, node);
      for (const input of node.input ?? []) {
        if (!input) continue;
        const list = this.consumers.get(input);
        if (list) list.push(node);
        else this.consumers.set(input, [node]);
      }
    }
  }

  consumersOf(tensor: string): NodeProto[] {
    return this.consumers.get(tensor) ?? [];
  }

  producerOf(tensor: string): NodeProto | undefined {
    return this.producers.get(tensor);
  }

  isWeight(tensor: string): boolean {
    return this.initializers.has(tensor);
  }

  /** A float activation: produced by a node or fed as a graph input, not a weight. */
  isActivation(tensor: string): boolean {
    return !!tensor && !this.initializers.has(tensor) && (this.producers.has(tensor) || this.inputs.has(tensor));
  }
}

/** Ops that only exist in an already-quantized graph. */
const QUANTIZED_OPS = new Set(['QuantizeLinear', 'DequantizeLinear', 'DynamicQuantizeLinear', 'ConvInteger', 'MatMulInteger', 'QLinearConv', 'QLinearMatMul', 'QLinearAdd', 'QLinearMul', 'QLinearConcat', 'QLinearSigmoid', 'QLinearLeakyRelu', 'QLinearAveragePool', 'QLinearGlobalAveragePool', 'QGemm', 'QAttention', 'DynamicQuantizeMatMul', 'MatMulIntegerToFloat']);

export function quantizedNodes(model: ModelProto): NodeProto[] {
  return (model.graph?.node ?? []).filter((n) => QUANTIZED_OPS.has(n.opType ?? ''));
}

/** Constant nodes become initializers, so every weight is found in one place. */
export function inlineConstants(model: ModelProto): void {
  const graph = model.graph!;
  const kept: NodeProto[] = [];
  for (const node of graph.node ?? []) {
    const value = node.opType === 'Constant' ? getAttribute(node, 'value') : undefined;
    if (value?.t && node.output?.[0]) {
      graph.initializer = [...(graph.initializer ?? []), { ...value.t, name: node.output[0] }];
    } else {
      kept.push(node);
    }
  }
  graph.node = kept;
}

/** Kahn's sort: ONNX wants nodes in topological order, and passes append nodes at the end. */
export function sortTopologically(model: ModelProto): void {
  const graph = model.graph!;
  const nodes = graph.node ?? [];
  const available = new Set<string>([...(graph.initializer ?? []).map((t) => t.name ?? ''), ...(graph.input ?? []).map((v) => v.name ?? ''), '']);
  const producedBy = new Map<string, number>();
  nodes.forEach((n, i) => (n.output ?? []).forEach((o) => producedBy.set(o, i)));
  const waiting = nodes.map((n) => new Set((n.input ?? []).filter((i) => !available.has(i) && producedBy.has(i))));
  const dependents = new Map<string, number[]>();
  waiting.forEach((deps, i) => deps.forEach((d) => dependents.set(d, [...(dependents.get(d) ?? []), i])));
  const ready = nodes.map((_, i) => i).filter((i) => waiting[i].size === 0);
  const order: NodeProto[] = [];
  while (ready.length > 0) {
    // Keep the original order among ready nodes: stable output, readable diffs.
    ready.sort((a, b) => a - b);
    const i = ready.shift()!;
    order.push(nodes[i]);
    for (const out of nodes[i].output ?? []) {
      for (const j of dependents.get(out) ?? []) {
        waiting[j].delete(out);
        if (waiting[j].size === 0) ready.push(j);
      }
    }
  }
  if (order.length !== nodes.length) throw new Error('graph has a cycle: cannot order nodes');
  graph.node = order;
}

/** Points every consumer of `from` at `to` (except `skip`), and graph outputs too. */
export function renameUses(model: ModelProto, from: string, to: string, skip?: NodeProto): void {
  for (const node of model.graph!.node ?? []) {
    if (node === skip) continue;
    node.input = (node.input ?? []).map((i) => (i === from ? to : i));
  }
}

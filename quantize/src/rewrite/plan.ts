// Where Q/DQ pairs go. ONNX Runtime fuses a quantized op only when it sees the whole pattern
// DequantizeLinear → op → QuantizeLinear, so the plan marks tensors (every marked tensor gets a
// Q/DQ pair) such that each op we want in integers is surrounded, and nothing else pays for one.
import type { ModelProto } from '@kestrel/core/onnx/io';
import { KestrelError } from '@kestrel/core/util/errors';
import { GraphView } from '../graph/graph.js';
import type { NodeProto } from '../graph/nodes.js';
import { tensorDims } from '@kestrel/core/onnx/tensors';
import { opRole, dataInputIndices, LAYOUT_OPS } from './ops.js';
import { UnionFind } from './union-find.js';

export type Placement =
  /** ORT CPU: Q/DQ on inputs and outputs of every integer op, so each one fuses. */
  | 'inputs-and-outputs'
  /** TensorRT: Q/DQ on the inputs of weighted ops only; TensorRT fuses the rest itself. */
  | 'inputs-only';

export interface PlanOptions {
  placement: Placement;
  /** Node names or op types to keep in float. */
  exclude: readonly string[];
  /** Keep a Conv that reads the image (≤ 4 channels) in float: in INT8 it is slower on CPU. */
  keepStemFloat: boolean;
  /** Keep the ops after the last weighted op (the decoder's tail) in float. */
  keepTailFloat: boolean;
}

export interface ExcludedNode {
  name: string;
  opType: string;
  /** user: --exclude; stem: the image-reading Conv; tail: decode tail; unsupported: weights not constant. */
  reason: 'user' | 'stem' | 'tail' | 'unsupported';
}

export interface ClampFold {
  node: NodeProto;
  /** The quantized tensor the Relu/Clip reads. */
  input: string;
  output: string;
}

export interface QuantPlan {
  /** Conv/MatMul nodes that get integer weights. */
  computeNodes: NodeProto[];
  /** Activations that get a QuantizeLinear → DequantizeLinear pair. */
  tensors: Set<string>;
  /** Tensors that must share one scale (Concat inputs, a MaxPool's input and output, ...). */
  groups: UnionFind;
  /** Relu/Clip that may vanish into the preceding Q if the range allows (decided with ranges). */
  clampFolds: ClampFold[];
  excluded: ExcludedNode[];
}

export function planQuantization(model: ModelProto, options: PlanOptions): QuantPlan {
  const g = new GraphView(model);
  const excluded: ExcludedNode[] = [];
  const excludedNodes = new Set<NodeProto>();
  const exclude = (node: NodeProto, reason: ExcludedNode['reason']) => {
    if (excludedNodes.has(node)) return;
    excludedNodes.add(node);
    if (reason !== 'tail' || opRole(node) !== 'float') excluded.push({ name: node.name ?? '', opType: node.opType ?? '', reason });
  };

  checkExcludeList(g, options.exclude);
  const wanted = new Set(options.exclude);
  for (const node of g.nodes) {
    if (wanted.has(node.name ?? '') || wanted.has(node.opType ?? '')) exclude(node, 'user');
  }
  if (options.keepStemFloat) {
    for (const node of g.nodes) if (isStemConv(g, node)) exclude(node, 'stem');
  }
  if (options.keepTailFloat) {
    for (const node of tailNodes(g)) exclude(node, 'tail');
  }

  const tensors = new Set<string>();
  const groups = new UnionFind();
  const computeNodes: NodeProto[] = [];
  const clampFolds: ClampFold[] = [];
  const mark = (t: string) => {
    tensors.add(t);
    groups.add(t);
  };
  const io = options.placement === 'inputs-and-outputs';

  for (const node of g.nodes) {
    if (excludedNodes.has(node)) continue;
    const inputs = node.input ?? [];
    const outputs = (node.output ?? []).filter(Boolean);
    const data = dataInputIndices(node).map((i) => inputs[i]).filter((t): t is string => !!t);
    switch (opRole(node)) {
      case 'compute': {
        const [x, w] = inputs;
        const weightIsConstant = g.isWeight(w);
        if (!g.isActivation(x) || (node.opType === 'Conv' && !weightIsConstant)) {
          exclude(node, 'unsupported');
          break;
        }
        computeNodes.push(node);
        mark(x);
        if (!weightIsConstant) mark(w);
        if (io) outputs.forEach(mark);
        break;
      }
      case 'own-scale':
        if (io && data.length > 0 && data.every((t) => tensors.has(t))) outputs.forEach(mark);
        break;
      case 'same-scale':
        if (io && tensors.has(data[0])) {
          outputs.forEach(mark);
          outputs.forEach((o) => groups.union(data[0], o));
        }
        break;
      case 'concat':
        if (io && data.length > 0 && data.every((t) => tensors.has(t))) {
          outputs.forEach(mark);
          data.forEach((t) => groups.union(t, outputs[0]));
        }
        break;
      case 'clamp': {
        const x = data[0];
        const producer = g.producerOf(x);
        const soleUse = g.consumersOf(x).length === 1 && !g.outputs.has(x);
        if (io && tensors.has(x) && producer && !excludedNodes.has(producer) && soleUse) {
          outputs.forEach(mark);
          clampFolds.push({ node, input: x, output: outputs[0] });
        }
        break;
      }
      case 'float':
        break;
    }
  }
  return { computeNodes, tensors, groups, clampFolds, excluded };
}

/** An --exclude entry that names nothing is almost always a typo: say so instead of ignoring it. */
function checkExcludeList(g: GraphView, exclude: readonly string[]): void {
  const names = new Set(g.nodes.map((n) => n.name ?? ''));
  const ops = new Set(g.nodes.map((n) => n.opType ?? ''));
  const unknown = exclude.filter((e) => !names.has(e) && !ops.has(e));
  if (unknown.length > 0) {
    throw new KestrelError('E_QUANT_EXCLUDE', `--exclude ${unknown.join(', ')}: no node has that name or op type (op types here: ${[...ops].sort().join(', ')})`);
  }
}

/** A Conv fed straight from a graph input with at most 4 channels (the image). */
function isStemConv(g: GraphView, node: NodeProto): boolean {
  if (node.opType !== 'Conv') return false;
  const [x, w] = node.input ?? [];
  const weight = g.initializers.get(w);
  if (!g.inputs.has(x) || !weight) return false;
  const dims = tensorDims(weight);
  return dims.length >= 2 && dims[1] <= 4;
}

/**
 * The decode tail: ops from which no weighted op can be reached. They turn the last feature
 * maps into scores and boxes (sigmoid, softmax, reshapes, concats), where float costs little
 * and int8 would cost accuracy. Pure layout ops right after a weighted op are left out of the
 * tail: running them on int8 lets ORT's layout pass cancel them against its own transposes.
 */
function tailNodes(g: GraphView): NodeProto[] {
  const reachesCompute = new Map<NodeProto, boolean>();
  const visit = (node: NodeProto): boolean => {
    const known = reachesCompute.get(node);
    if (known !== undefined) return known;
    reachesCompute.set(node, false);
    let result = false;
    for (const out of node.output ?? []) {
      for (const c of g.consumersOf(out)) {
        if (opRole(c) === 'compute' || visit(c)) result = true;
      }
    }
    reachesCompute.set(node, result);
    return result;
  };
  return g.nodes.filter((n) => opRole(n) !== 'compute' && !visit(n) && !isLayoutAfterCompute(g, n));
}

function isLayoutAfterCompute(g: GraphView, node: NodeProto): boolean {
  if (!LAYOUT_OPS.has(node.opType ?? '')) return false;
  let producer = g.producerOf(node.input?.[0] ?? '');
  while (producer && LAYOUT_OPS.has(producer.opType ?? '')) producer = g.producerOf(producer.input?.[0] ?? '');
  return !!producer && opRole(producer) === 'compute';
}

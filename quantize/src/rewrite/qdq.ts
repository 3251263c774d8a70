// Writes the plan into the graph: int8 weights and int32 biases behind DequantizeLinear, a
// QuantizeLinear → DequantizeLinear pair on every planned activation, Relu/Clip folded away where
// the quantized range already clamps, then opset ≥ 13 (per-channel DequantizeLinear needs it).
import type { ModelProto } from '@kestrel/core/onnx/io';
import { attr, nodeProto } from '@kestrel/core/onnx/build';
import { floatTensor, int8Tensor, int32Tensor, tensorDims, tensorToFloat32, tensorToNumbers, type TensorProto } from '@kestrel/core/onnx/tensors';
import { GraphView, renameUses, sortTopologically } from '../graph/graph.js';
import { attrFloat, defaultOpset, setDefaultOpset, type NodeProto } from '../graph/nodes.js';
import { zeroPointTensor } from '../graph/tensors.js';
import { computeQuantParams, quantizeBias, quantizeWeights, representableRange, type QuantParams, type QuantRange, type QuantType } from '../math/qparams.js';
import type { QuantPlan } from './plan.js';

export interface ActivationScheme {
  type: QuantType;
  /** Zero point fixed at the middle of the type (0 for int8), as TensorRT requires. */
  symmetric: boolean;
}

export interface RewriteOptions {
  activation: ActivationScheme;
  /** One weight scale per output channel (Conv axis 0) instead of one per tensor. */
  perChannel: boolean;
  /** 7-bit weights (see quantLimits): exact on x86 CPUs without VNNI. */
  reduceRange: boolean;
}

export interface RewriteSummary {
  quantizedNodes: string[];
  qdqPairs: number;
  foldedClamps: string[];
  keptClamps: string[];
  /** Tensors planned for Q/DQ that calibration never saw (not float, or not computed). */
  unquantized: string[];
}

/**
 * One scale and zero point per group of tensors that must share them: the union of the
 * members' ranges, so no member is clipped harder than its own calibration says.
 */
export function resolveParams(plan: QuantPlan, ranges: ReadonlyMap<string, QuantRange>, scheme: ActivationScheme): Map<string, QuantParams> {
  const params = new Map<string, QuantParams>();
  for (const members of plan.groups.sets().values()) {
    const planned = members.filter((m) => plan.tensors.has(m));
    const seen = planned.map((m) => ranges.get(m)).filter((r): r is QuantRange => !!r);
    if (seen.length === 0) continue;
    const range = { min: Math.min(...seen.map((r) => r.min)), max: Math.max(...seen.map((r) => r.max)) };
    const p = computeQuantParams(range, scheme.type, scheme.symmetric);
    for (const m of planned) if (ranges.has(m)) params.set(m, p);
  }
  return params;
}

export function applyQdq(model: ModelProto, plan: QuantPlan, params: Map<string, QuantParams>, options: RewriteOptions): RewriteSummary {
  const graph = model.graph!;
  const names = new NameAllocator(model);
  const newInits: TensorProto[] = [];
  const newNodes: NodeProto[] = [];
  const tensors = new Set([...plan.tensors].filter((t) => params.has(t)));
  const unquantized = [...plan.tensors].filter((t) => !params.has(t));

  const { folded, kept } = foldClamps(model, plan, params, tensors);

  const view = new GraphView(model);
  const quantizedNodes: string[] = [];
  for (const node of plan.computeNodes) {
    const x = node.input![0];
    const inParams = params.get(x);
    const w = node.input![1];
    // A weighted op whose input was never calibrated stays float rather than guessing a scale.
    if (!inParams || (!view.isWeight(w) && !params.has(w))) continue;
    if (view.isWeight(w)) {
      const weight = view.initializers.get(w)!;
      const axis = node.opType === 'Conv' && options.perChannel ? 0 : null;
      const q = quantizeWeights(tensorToFloat32(weight), tensorDims(weight), axis, options.reduceRange);
      const scalar = axis === null;
      const base = names.take(`${w}_quantized`);
      const wq = int8Tensor(base, tensorDims(weight), q.data);
      const ws = floatTensor(names.take(`${w}_scale`), scalar ? [] : [q.scales.length], q.scales);
      const wzp = zeroPointTensor(names.take(`${w}_zero_point`), 'int8', new Array(q.scales.length).fill(0), scalar);
      const wdq = names.take(`${w}_dequantized`);
      newInits.push(wq, ws, wzp);
      newNodes.push(nodeProto('DequantizeLinear', [wq.name!, ws.name!, wzp.name!], [wdq], { name: names.take(`${w}_DequantizeLinear`), attributes: scalar ? {} : { axis: attr.int(0) } }));
      node.input![1] = wdq;
      const b = node.input![2];
      const bias = b ? view.initializers.get(b) : undefined;
      if (bias && node.opType === 'Conv') {
        const qb = quantizeBias(tensorToFloat32(bias), inParams.scale, q.scales);
        const bq = int32Tensor(names.take(`${b}_quantized`), [qb.data.length], qb.data);
        const bs = floatTensor(names.take(`${b}_scale`), [qb.scales.length], qb.scales);
        const bzp = int32Tensor(names.take(`${b}_zero_point`), [qb.data.length], new Int32Array(qb.data.length));
        const bdq = names.take(`${b}_dequantized`);
        newInits.push(bq, bs, bzp);
        newNodes.push(nodeProto('DequantizeLinear', [bq.name!, bs.name!, bzp.name!], [bdq], { name: names.take(`${b}_DequantizeLinear`), attributes: { axis: attr.int(0) } }));
        node.input![2] = bdq;
      }
    }
    quantizedNodes.push(node.name ?? node.opType ?? '');
  }

  let qdqPairs = 0;
  const outputs = new Set((graph.output ?? []).map((o) => o.name ?? ''));
  for (const t of tensors) {
    const p = params.get(t)!;
    const scale = floatTensor(names.take(`${t}_scale`), [], [p.scale]);
    const zp = zeroPointTensor(names.take(`${t}_zero_point`), p.type, [p.zeroPoint], true);
    newInits.push(scale, zp);
    const quantized = names.take(`${t}_quantized`);
    let source = t;
    let dequantized = names.take(`${t}_dequantized`);
    if (outputs.has(t)) {
      // A graph output keeps its name: the producer writes a new name and the DQ writes `t`.
      source = names.take(`${t}_float`);
      const producer = (graph.node ?? []).find((n) => n.output?.includes(t));
      if (producer) producer.output = producer.output!.map((o) => (o === t ? source : o));
      dequantized = t;
    }
    const q = nodeProto('QuantizeLinear', [source, scale.name!, zp.name!], [quantized], { name: names.take(`${t}_QuantizeLinear`) });
    const dq = nodeProto('DequantizeLinear', [quantized, scale.name!, zp.name!], [dequantized], { name: names.take(`${t}_DequantizeLinear`) });
    if (!outputs.has(t)) renameUses(model, t, dequantized);
    newNodes.push(q, dq);
    qdqPairs++;
  }

  graph.node = [...(graph.node ?? []), ...newNodes];
  graph.initializer = [...(graph.initializer ?? []), ...newInits];
  pruneInitializers(model);
  if (defaultOpset(model) < 13) setDefaultOpset(model, 13);
  if (Number(model.irVersion ?? 0) < 7) model.irVersion = 7;
  sortTopologically(model);
  return { quantizedNodes, qdqPairs, foldedClamps: folded, keptClamps: kept, unquantized };
}

/**
 * A Relu/Clip right after a quantized op is redundant when QuantizeLinear already saturates at
 * its bounds (uint8 with zero point 0 cannot go below 0): then the op goes, and the producer
 * writes straight into the Q. Symmetric int8 can go below 0, so there the Relu stays.
 */
function foldClamps(model: ModelProto, plan: QuantPlan, params: Map<string, QuantParams>, tensors: Set<string>): { folded: string[]; kept: string[] } {
  const graph = model.graph!;
  const view = new GraphView(model);
  const folded: string[] = [];
  const kept: string[] = [];
  for (const fold of plan.clampFolds) {
    const p = params.get(fold.output);
    const bounds = clampBounds(fold.node, view);
    const r = p ? representableRange(p) : undefined;
    const redundant = !!p && !!r && !!bounds && r.min >= bounds.min - 1e-7 && r.max <= bounds.max + p.scale / 2;
    if (!redundant) {
      kept.push(fold.node.name ?? '');
      continue;
    }
    const producer = view.producerOf(fold.input)!;
    producer.output = producer.output!.map((o) => (o === fold.input ? fold.output : o));
    graph.node = (graph.node ?? []).filter((n) => n !== fold.node);
    tensors.delete(fold.input);
    folded.push(fold.node.name ?? '');
  }
  return { folded, kept };
}

function clampBounds(node: NodeProto, view: GraphView): QuantRange | undefined {
  if (node.opType === 'Relu') return { min: 0, max: Infinity };
  const [, minName, maxName] = node.input ?? [];
  const read = (name: string | undefined, attr: string, fallback: number): number | undefined => {
    if (name) {
      const t = view.initializers.get(name);
      return t ? tensorToNumbers(t)[0] : undefined;
    }
    return attrFloat(node, attr, fallback);
  };
  const min = read(minName, 'min', -Infinity);
  const max = read(maxName, 'max', Infinity);
  return min === undefined || max === undefined ? undefined : { min, max };
}

/** Drops initializers no node reads any more (the float weights that were replaced). */
function pruneInitializers(model: ModelProto): void {
  const graph = model.graph!;
  const used = new Set<string>();
  for (const n of graph.node ?? []) for (const i of n.input ?? []) used.add(i);
  for (const o of graph.output ?? []) used.add(o.name ?? '');
  const removed = new Set((graph.initializer ?? []).filter((t) => !used.has(t.name ?? '')).map((t) => t.name ?? ''));
  graph.initializer = (graph.initializer ?? []).filter((t) => !removed.has(t.name ?? ''));
  graph.input = (graph.input ?? []).filter((v) => !removed.has(v.name ?? ''));
}

/** Fresh tensor/node names that collide with nothing already in the graph. */
class NameAllocator {
  private readonly used = new Set<string>();

  constructor(model: ModelProto) {
    const g = model.graph!;
    for (const n of g.node ?? []) {
      if (n.name) this.used.add(n.name);
      for (const o of n.output ?? []) this.used.add(o);
      for (const i of n.input ?? []) this.used.add(i);
    }
    for (const t of g.initializer ?? []) this.used.add(t.name ?? '');
    for (const v of [...(g.input ?? []), ...(g.output ?? [])]) this.used.add(v.name ?? '');
  }

  take(wanted: string): string {
    let name = wanted;
    for (let i = 1; this.used.has(name); i++) name = `${wanted}_${i}`;
    this.used.add(name);
    return name;
  }
}


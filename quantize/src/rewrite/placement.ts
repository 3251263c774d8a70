// Exact rewrites of the float graph that make the INT8 graph faster on ONNX Runtime CPU.
// Each one leaves the model's outputs unchanged (bit for bit, or by a mathematical identity).
import type { ModelProto } from '@kestrel/core/onnx/io';
import { attr, nodeProto } from '@kestrel/core/onnx/build';
import { int64Tensor, tensorToNumbers } from '@kestrel/core/onnx/tensors';
import { GraphView, sortTopologically } from '../graph/graph.js';
import { attrFloat, attrInt, attrInts, defaultOpset, type NodeProto } from '../graph/nodes.js';

export interface PlacementRewrite {
  name: string;
  nodes: string[];
}

/**
 * activation → MaxPool becomes MaxPool → activation when the activation is monotonic
 * non-decreasing (Relu, LeakyRelu with alpha ≥ 0): max(f(a), f(b)) = f(max(a, b)), so the result
 * is identical, the activation runs on a quarter of the values, and the pool can sit next to the
 * op before it (in NanoDet the float stem: the pool then stays float instead of becoming a uint8
 * MaxPool between extra Q/DQ nodes).
 */
export function poolBeforeActivation(model: ModelProto): PlacementRewrite {
  const g = new GraphView(model);
  const moved: string[] = [];
  for (const pool of g.nodes) {
    if (pool.opType !== 'MaxPool' || (pool.output ?? []).filter(Boolean).length !== 1) continue;
    const between = pool.input![0];
    const act = g.producerOf(between);
    if (!act || !isMonotonicActivation(act)) continue;
    if (g.consumersOf(between).length !== 1 || g.outputs.has(between)) continue;
    const source = act.input![0];
    const result = pool.output![0];
    pool.input![0] = source;
    pool.output = [between];
    act.input = [between];
    act.output = [result];
    moved.push(pool.name ?? '');
  }
  if (moved.length > 0) sortTopologically(model);
  return { name: 'pool-before-activation', nodes: moved };
}

function isMonotonicActivation(node: NodeProto): boolean {
  if (node.opType === 'Relu') return true;
  if (node.opType === 'LeakyRelu') return attrFloat(node, 'alpha', 0.01) >= 0;
  return false;
}

/** Elementwise ops that may sit between a head's Split and its Reshape; they commute with layout. */
const ELEMENTWISE = new Set(['Sigmoid', 'Relu', 'LeakyRelu', 'Tanh', 'Identity']);

/**
 * A detection head that splits a Conv's channels, flattens each part to [N, c, H·W] and
 * transposes it to [N, H·W, c] (NanoDet's scores and boxes) is rewritten to transpose first:
 * Conv → Transpose(0,2,3,1) → Reshape [N, H·W, C] → Split on the last axis → the same ops.
 * The values are identical. In the INT8 graph ONNX Runtime runs convolutions in NHWC, so that
 * first Transpose cancels against the one ORT inserts after the last QLinearConv, and the
 * per-output float Transposes disappear: the decode tail needs no Transpose at all.
 */
export function channelsLastHeads(model: ModelProto): PlacementRewrite {
  const g = new GraphView(model);
  const graph = model.graph!;
  const rewritten: string[] = [];
  const removed = new Set<NodeProto>();
  const added: NodeProto[] = [];
  const splitAsInput = defaultOpset(model) >= 13;
  for (const conv of g.nodes) {
    if (conv.opType !== 'Conv') continue;
    const x = conv.output![0];
    const weight = g.initializers.get(conv.input![1]);
    const split = g.consumersOf(x);
    if (!weight || split.length !== 1 || split[0].opType !== 'Split' || g.outputs.has(x)) continue;
    const head = matchHead(g, split[0], Number(weight.dims![0]));
    if (!head) continue;
    const channels = head.sizes.reduce((a, b) => a + b, 0);
    const base = split[0].name || x;
    const nhwc = `${base}/nhwc`;
    const rows = `${base}/rows`;
    const shapeName = `${base}/rows_shape`;
    const sizesName = `${base}/split_sizes`;
    graph.initializer = [...(graph.initializer ?? []), int64Tensor(shapeName, [3], [0, -1, channels])];
    if (splitAsInput) graph.initializer.push(int64Tensor(sizesName, [head.sizes.length], head.sizes));
    added.push(nodeProto('Transpose', [x], [nhwc], { name: `${base}/to_nhwc`, attributes: { perm: attr.ints([0, 2, 3, 1]) } }));
    added.push(nodeProto('Reshape', [nhwc, shapeName], [rows], { name: `${base}/flatten` }));
    const splitOutputs = head.branches.map((b, i) => (b.chain.length === 0 ? b.transpose.output![0] : `${base}/part${i}`));
    // Split takes its sizes as an input from opset 13, as an attribute before.
    added.push(
      splitAsInput
        ? nodeProto('Split', [rows, sizesName], splitOutputs, { name: `${base}/split_channels`, attributes: { axis: attr.int(2) } })
        : nodeProto('Split', [rows], splitOutputs, { name: `${base}/split_channels`, attributes: { axis: attr.int(2), split: attr.ints(head.sizes) } }),
    );
    head.branches.forEach((b, i) => {
      if (b.chain.length === 0) return;
      b.chain[0].input = [splitOutputs[i]];
      b.chain[b.chain.length - 1].output = [b.transpose.output![0]];
    });
    removed.add(split[0]);
    for (const b of head.branches) {
      removed.add(b.reshape);
      removed.add(b.transpose);
    }
    rewritten.push(conv.name ?? x);
  }
  if (rewritten.length > 0) {
    graph.node = [...(graph.node ?? []).filter((n) => !removed.has(n)), ...added];
    sortTopologically(model);
  }
  return { name: 'channels-last-heads', nodes: rewritten };
}

interface HeadBranch {
  chain: NodeProto[];
  reshape: NodeProto;
  transpose: NodeProto;
}

function matchHead(g: GraphView, split: NodeProto, convChannels: number): { sizes: number[]; branches: HeadBranch[] } | undefined {
  if (attrInt(split, 'axis', 0) !== 1) return undefined;
  const sizesInit = split.input?.[1] ? g.initializers.get(split.input[1]) : undefined;
  const sizes = sizesInit ? tensorToNumbers(sizesInit) : attrInts(split, 'split');
  if (!sizes || sizes.length !== (split.output ?? []).length || sizes.reduce((a, b) => a + b, 0) !== convChannels) return undefined;
  const branches: HeadBranch[] = [];
  for (const [i, out] of (split.output ?? []).entries()) {
    const chain: NodeProto[] = [];
    let tensor = out;
    let next = soleConsumer(g, tensor);
    while (next && ELEMENTWISE.has(next.opType ?? '')) {
      chain.push(next);
      tensor = next.output![0];
      next = soleConsumer(g, tensor);
    }
    if (!next || next.opType !== 'Reshape') return undefined;
    const shapeInit = g.initializers.get(next.input?.[1] ?? '');
    const shape = shapeInit ? tensorToNumbers(shapeInit) : undefined;
    // [batch, c_i, H·W]: batch given as 1, 0 (copy) or -1; the channel count must match the split.
    if (!shape || shape.length !== 3 || ![1, 0, -1].includes(shape[0]) || shape[1] !== sizes[i]) return undefined;
    const transpose = soleConsumer(g, next.output![0]);
    const perm = transpose ? attrInts(transpose, 'perm') : undefined;
    if (!transpose || transpose.opType !== 'Transpose' || perm?.join(',') !== '0,2,1') return undefined;
    branches.push({ chain, reshape: next, transpose });
  }
  return { sizes, branches };
}

function soleConsumer(g: GraphView, tensor: string): NodeProto | undefined {
  const c = g.consumersOf(tensor);
  return c.length === 1 && !g.outputs.has(tensor) ? c[0] : undefined;
}

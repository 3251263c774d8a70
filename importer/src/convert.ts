// The graph walker: TF.js nodes in dependency order → converted values, one op converter per
// node, constants folded on the way; then graph inputs and outputs.
import { KestrelError } from '@kestrel/core/util/errors';
import { attrShape, attrType } from './attrs.js';
import { ConversionState, NodeContext, constValue, shapeOf, dtypeOf, type TfValue } from './context.js';
import { FOLD_ONLY_OPS, FoldError, foldNode } from './fold.js';
import type { OnnxGraph } from './ir/graph.js';
import { identityPerm } from './layout.js';
import { dimsOf, type TfjsGraphModelJson, type TfNodeDef } from './model-json.js';
import { GRAPH_OPS, OP_CONVERTERS } from './ops/index.js';
import type { HostDType, HostTensor } from './tensor.js';

export interface GraphConversionOptions {
  /** ONNX name for the (single) graph input; default: the TF placeholder name. */
  inputName?: string;
  /** TF output ("Identity" or "Identity:0") → ONNX output name; listed outputs come first, in this order. */
  outputNames?: Record<string, string>;
}

/** A tensor reference in TF's "node:index" form. */
interface TensorRef {
  node: string;
  index: number;
}

export function parseTensorRef(ref: string): TensorRef {
  const m = /^(.*):(\d+)$/.exec(ref);
  return m ? { node: m[1], index: Number(m[2]) } : { node: ref, index: 0 };
}

function refKey(ref: TensorRef): string {
  return `${ref.node}:${ref.index}`;
}

function graphError(message: string, details?: Record<string, unknown>): KestrelError {
  return new KestrelError('E_IMPORT_GRAPH', message, details);
}

/** The graph's outputs: the signature's, else every node nobody reads (Const aside). */
function graphOutputs(json: TfjsGraphModelJson, nodes: Map<string, TfNodeDef>): TensorRef[] {
  const signature = Object.keys(json.signature?.outputs ?? {});
  if (signature.length > 0) return signature.map(parseTensorRef);
  const read = new Set<string>();
  for (const node of nodes.values()) for (const input of node.input ?? []) read.add(parseTensorRef(input.replace(/^\^/, '')).node);
  return [...nodes.values()].filter((n) => !read.has(n.name) && n.op !== 'Const').map((n) => ({ node: n.name, index: 0 }));
}

/** Orders outputs: those named in `outputNames` first (in its order), the rest after. */
function orderOutputs(outputs: TensorRef[], names: Record<string, string>): { ref: TensorRef; name: string }[] {
  const available = outputs.map((r) => refKey(r));
  const byKey = new Map<string, string>();
  for (const [tfName, onnxName] of Object.entries(names)) {
    const key = refKey(parseTensorRef(tfName));
    if (!available.includes(key)) {
      throw new KestrelError('E_IMPORT_OPTIONS', `outputNames names "${tfName}", which is not an output of the model (outputs: ${outputs.map((r) => r.node + (r.index ? ':' + r.index : '')).join(', ')})`);
    }
    byKey.set(key, onnxName);
  }
  const named = [...byKey.keys()].map((key) => ({ ref: outputs[available.indexOf(key)], name: byKey.get(key)! }));
  const rest = outputs.filter((r) => !byKey.has(refKey(r))).map((r) => ({ ref: r, name: r.index === 0 ? r.node : `${r.node}:${r.index}` }));
  return [...named, ...rest];
}

/** Nodes the outputs depend on, dependencies first (iterative DFS, stable in output order). */
function topologicalOrder(outputs: TensorRef[], nodes: Map<string, TfNodeDef>): TfNodeDef[] {
  const order: TfNodeDef[] = [];
  const state = new Map<string, 'visiting' | 'done'>();
  for (const out of outputs) {
    const stack: { name: string; next: number }[] = [{ name: out.node, next: 0 }];
    while (stack.length > 0) {
      const top = stack[stack.length - 1];
      const node = nodes.get(top.name);
      if (!node) throw graphError(`the graph refers to node "${top.name}", which model.json does not define`);
      if (top.next === 0) {
        if (state.get(top.name) === 'done') {
          stack.pop();
          continue;
        }
        state.set(top.name, 'visiting');
      }
      const inputs = (node.input ?? []).filter((i) => !i.startsWith('^'));
      if (top.next < inputs.length) {
        const dep = parseTensorRef(inputs[top.next++]).node;
        const s = state.get(dep);
        if (s === 'visiting') throw graphError(`the graph has a cycle through node "${dep}"; control flow is not supported`);
        if (s !== 'done') stack.push({ name: dep, next: 0 });
        continue;
      }
      state.set(top.name, 'done');
      order.push(node);
      stack.pop();
    }
  }
  return order;
}

/** One error for every op the importer cannot convert, naming op types and nodes. */
function checkSupported(order: TfNodeDef[]): void {
  const unsupported = new Map<string, string[]>();
  for (const node of order) {
    if (GRAPH_OPS.includes(node.op) || OP_CONVERTERS.has(node.op) || FOLD_ONLY_OPS.includes(node.op)) continue;
    const list = unsupported.get(node.op) ?? [];
    list.push(node.name);
    unsupported.set(node.op, list);
  }
  if (unsupported.size === 0) return;
  const parts = [...unsupported].map(([op, names]) => `${op} (node${names.length > 1 ? 's' : ''} ${names.slice(0, 5).map((n) => `"${n}"`).join(', ')}${names.length > 5 ? `, and ${names.length - 5} more` : ''})`);
  const what = unsupported.size > 1 ? 'ops' : 'an op';
  throw new KestrelError('E_IMPORT_UNSUPPORTED_OP', `the model uses ${what} the importer cannot convert: ${parts.join('; ')} (converters live in importer/src/ops)`, {
    ops: Object.fromEntries(unsupported),
  });
}

function placeholderShape(node: TfNodeDef, json: TfjsGraphModelJson): number[] {
  const fromSignature = Object.values(json.signature?.inputs ?? {}).find((i) => parseTensorRef(i.name ?? '').node === node.name);
  const dims = attrShape(node, 'shape') ?? dimsOf(fromSignature?.tensorShape);
  if (!dims) throw graphError(`input "${node.name}" has no known shape; the importer needs static input shapes`);
  // Edge inference runs one frame at a time: an open batch dimension becomes 1.
  const shape = dims.map((d, i) => (d === -1 && i === 0 ? 1 : d));
  if (shape.some((d) => d < 0)) throw graphError(`input "${node.name}" has shape [${dims.join(',')}]; only the batch dimension may be open`);
  return shape;
}

const PLACEHOLDER_DTYPES: Record<string, HostDType> = { DT_FLOAT: 'float32', DT_INT32: 'int32', DT_BOOL: 'bool' };

export interface ConvertedGraph {
  graph: OnnxGraph;
  /** TF node name of each graph input, by ONNX name. */
  inputs: Record<string, string>;
}

export function convertGraph(json: TfjsGraphModelJson, weights: ReadonlyMap<string, HostTensor>, options: GraphConversionOptions = {}): ConvertedGraph {
  const nodes = new Map<string, TfNodeDef>();
  for (const node of json.modelTopology.node) nodes.set(node.name, node);
  const outputs = orderOutputs(graphOutputs(json, nodes), options.outputNames ?? {});
  const order = topologicalOrder(outputs.map((o) => o.ref), nodes);
  checkSupported(order);

  const placeholders = order.filter((n) => n.op === 'Placeholder');
  if (options.inputName && placeholders.length !== 1) {
    throw new KestrelError('E_IMPORT_OPTIONS', `inputName needs a model with one input; this one has ${placeholders.length} (${placeholders.map((p) => p.name).join(', ')})`);
  }

  const state = new ConversionState();
  const graph = state.graph;
  const values = new Map<string, TfValue>();
  const inputs: Record<string, string> = {};
  const valueOf = (consumer: TfNodeDef, ref: string): TfValue => {
    const v = values.get(refKey(parseTensorRef(ref)));
    if (!v) throw graphError(`node "${consumer.name}" reads "${ref}", which its producer does not output`);
    return v;
  };

  for (const node of order) {
    let outs: TfValue[];
    if (node.op === 'Const') {
      const tensor = weights.get(node.name);
      if (!tensor) throw new KestrelError('E_IMPORT_WEIGHTS', `constant "${node.name}" has no entry in the weights manifest; the weight files do not match model.json`);
      outs = [constValue(tensor)];
    } else if (node.op === 'Placeholder') {
      const dtype = PLACEHOLDER_DTYPES[attrType(node, 'dtype') ?? 'DT_FLOAT'];
      if (!dtype) throw graphError(`input "${node.name}" has dtype ${attrType(node, 'dtype')}; float32, int32 or bool inputs only`);
      const shape = placeholderShape(node, json);
      const name = options.inputName ?? node.name;
      if (!graph.reserve(name)) throw new KestrelError('E_IMPORT_OPTIONS', `input name "${name}" is already used`);
      graph.addInput({ name, dtype, dims: shape });
      inputs[name] = node.name;
      outs = [{ kind: 'dynamic', name, dtype, shape, perm: shape.map((_, i) => i) }];
    } else {
      const args = (node.input ?? []).filter((i) => !i.startsWith('^')).map((ref) => valueOf(node, ref));
      outs = convertNode(node, args, state);
    }
    outs.forEach((v, i) => values.set(`${node.name}:${i}`, v));
  }

  bindOutputs(state, values, outputs);
  return { graph, inputs };
}

/**
 * Makes the requested values graph outputs, in TF order and under their final names. Every
 * output is placed first and renamed after, so that no rename strands a name still referred to.
 */
function bindOutputs(state: ConversionState, values: ReadonlyMap<string, TfValue>, outputs: { ref: TensorRef; name: string }[]): void {
  const graph = state.graph;
  const placed = outputs.map(({ ref, name }) => {
    const v = values.get(refKey(ref));
    if (!v) throw graphError(`output "${ref.node}:${ref.index}" is not produced by the graph`);
    const tfOrder = identityPerm(shapeOf(v).length);
    const held = v.kind === 'const' ? state.initializer(v.tensor, tfOrder, `${ref.node}/const`) : state.held(v, tfOrder);
    return { ref, name, value: v, held };
  });
  const claimed = new Set<string>();
  // Original value name → its name now; `placed` refers to values by their original names.
  const renamed = new Map<string, string>();
  const current = (original: string): string => renamed.get(original) ?? original;
  const rename = (from: string, to: string): void => {
    graph.renameValue(from, to);
    for (const [original, now] of renamed) if (now === from) renamed.set(original, to);
    if (!renamed.has(from)) renamed.set(from, to);
  };
  for (const { ref, name, value, held: heldName } of placed) {
    let held = current(heldName);
    if (value.kind === 'const' || graph.inputs.some((i) => i.name === held) || claimed.has(held)) {
      held = graph.addNode('Identity', [held], [`${ref.node}/output`]).outputs[0];
    }
    if (held !== name) {
      if (claimed.has(name) || graph.inputs.some((i) => i.name === name)) {
        throw new KestrelError('E_IMPORT_OPTIONS', `output name "${name}" is used twice (by another output or the input)`);
      }
      if (!graph.reserve(name)) {
        // An inner value already has the name (the NCHW tensor before its final Transpose,
        // say): it gives the name up to the output.
        const inner = graph.uniqueName(`${name}/inner`);
        rename(name, inner);
      }
      rename(held, name);
    }
    claimed.add(name);
    graph.outputs.push({ name, dtype: dtypeOf(value), dims: [...shapeOf(value)] });
  }
}

function convertNode(node: TfNodeDef, args: TfValue[], state: ConversionState): TfValue[] {
  if (args.length > 0 && args.every((a) => a.kind === 'const')) {
    try {
      const folded = foldNode(node, args.map((a) => (a as { tensor: HostTensor }).tensor));
      if (folded) return folded.map(constValue);
    } catch (err) {
      if (err instanceof FoldError) {
        throw new KestrelError('E_IMPORT_UNSUPPORTED_OP', `cannot evaluate constant ${node.op} node "${node.name}": ${err.message}`, { op: node.op, nodes: [node.name] });
      }
      throw err;
    }
  }
  const converter = OP_CONVERTERS.get(node.op);
  if (!converter) {
    throw new KestrelError('E_IMPORT_UNSUPPORTED_OP', `cannot convert ${node.op} node "${node.name}": the importer evaluates ${node.op} only on constant inputs, and this one depends on the model input`, { op: node.op, nodes: [node.name] });
  }
  return converter(new NodeContext(node, args, state));
}

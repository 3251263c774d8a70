// A small mutable ONNX graph the converter builds and the clean-up passes rewrite, before it is
// written out as a protobuf ModelProto (./to-proto.ts). Plain objects and arrays: easy to inspect
// and test. Attributes are core's typed `Attribute`s (@kestrel/core/onnx/build), so passes can
// read and rewrite them and they are written the way every Kestrel model writes them.
import type { Attribute } from '@kestrel/core/onnx/build';
import type { HostDType, HostTensor } from '../tensor.js';

export interface OnnxNode {
  name: string;
  opType: string;
  /** Value names; '' marks an omitted optional input. */
  inputs: string[];
  outputs: string[];
  attributes: Record<string, Attribute>;
}

export interface ValueInfo {
  name: string;
  dtype: HostDType;
  dims: number[];
}

export class OnnxGraph {
  readonly nodes: OnnxNode[] = [];
  readonly initializers = new Map<string, HostTensor>();
  readonly inputs: ValueInfo[] = [];
  readonly outputs: ValueInfo[] = [];
  private readonly taken = new Set<string>();

  /** `base` if no value or node uses it yet, else `base_2`, `base_3`, ... (deterministic). */
  uniqueName(base: string): string {
    let name = base;
    for (let n = 2; this.taken.has(name); n++) name = `${base}_${n}`;
    this.taken.add(name);
    return name;
  }

  /** Reserves an exact name; false when it is already in use. */
  reserve(name: string): boolean {
    if (this.taken.has(name)) return false;
    this.taken.add(name);
    return true;
  }

  addInput(info: ValueInfo): void {
    this.taken.add(info.name);
    this.inputs.push(info);
  }

  addInitializer(base: string, tensor: HostTensor): string {
    const name = this.uniqueName(base);
    this.initializers.set(name, tensor);
    return name;
  }

  /** Appends a node; its outputs get unique names derived from `outputBases`. */
  addNode(opType: string, inputs: string[], outputBases: string[], attributes: Record<string, Attribute> = {}, nameBase = outputBases[0]): OnnxNode {
    const node: OnnxNode = {
      name: this.uniqueName(`${nameBase}#${opType}`),
      opType,
      inputs: [...inputs],
      outputs: outputBases.map((b) => this.uniqueName(b)),
      attributes,
    };
    this.nodes.push(node);
    return node;
  }

  /** Value name → the node that produces it. */
  producers(): Map<string, OnnxNode> {
    const map = new Map<string, OnnxNode>();
    for (const node of this.nodes) for (const out of node.outputs) map.set(out, node);
    return map;
  }

  /** Value name → the nodes that read it (a node reading it twice is listed twice). */
  consumers(): Map<string, OnnxNode[]> {
    const map = new Map<string, OnnxNode[]>();
    for (const node of this.nodes) {
      for (const input of node.inputs) {
        if (input === '') continue;
        const list = map.get(input);
        if (list) list.push(node);
        else map.set(input, [node]);
      }
    }
    return map;
  }

  isGraphOutput(name: string): boolean {
    return this.outputs.some((o) => o.name === name);
  }

  /** Renames a value everywhere it appears. */
  renameValue(from: string, to: string): void {
    for (const node of this.nodes) {
      node.inputs = node.inputs.map((n) => (n === from ? to : n));
      node.outputs = node.outputs.map((n) => (n === from ? to : n));
    }
    for (const o of this.outputs) if (o.name === from) o.name = to;
    const init = this.initializers.get(from);
    if (init) {
      this.initializers.delete(from);
      this.initializers.set(to, init);
    }
    this.taken.add(to);
  }

  removeNodes(dead: ReadonlySet<OnnxNode>): void {
    const kept = this.nodes.filter((n) => !dead.has(n));
    this.nodes.length = 0;
    this.nodes.push(...kept);
  }
}

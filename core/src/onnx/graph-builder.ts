// A graph built front to back: inputs, initializers, nodes in topological order, outputs, then a
// ModelProto. Names are deterministic (a taken name gets `_2`, `_3`, ...), so the same calls always
// give the same bytes. For graphs that are rewritten before they are written, keep a mutable
// representation and convert it with ./build.ts at the end (as the TF.js importer does).
import type { ModelProto } from './io.js';
import type { TensorProto } from './tensors.js';
import { modelProto, nodeProto, valueInfo, type Attribute, type ModelInfo, type NodeProto, type ValueInfoProto } from './build.js';

function firstFree(taken: Set<string>, base: string): string {
  let name = base;
  for (let n = 2; taken.has(name); n++) name = `${base}_${n}`;
  taken.add(name);
  return name;
}

export class GraphBuilder {
  private readonly nodes: NodeProto[] = [];
  private readonly initializers: TensorProto[] = [];
  private readonly inputs: ValueInfoProto[] = [];
  private readonly outputs: ValueInfoProto[] = [];
  /** Value names (inputs, initializers, node outputs). */
  private readonly values = new Set<string>();
  /** Node names are a namespace of their own in ONNX: a node may share its output's name. */
  private readonly nodeNames = new Set<string>();

  /** `base` if no value uses it yet, else `base_2`, `base_3`, ... */
  uniqueName(base: string): string {
    return firstFree(this.values, base);
  }

  /** Reserves an exact value name; false when it is already in use. */
  reserve(name: string): boolean {
    if (this.values.has(name)) return false;
    this.values.add(name);
    return true;
  }

  /** A graph input under exactly this name (callers and consumers address inputs by name). */
  input(name: string, elemType: number, dims: readonly (number | string | null)[]): string {
    if (!this.reserve(name)) throw new Error(`graph input ${name}: the name is already used`);
    this.inputs.push(valueInfo(name, elemType, dims));
    return name;
  }

  /** Declares a value the graph already has as an output. */
  output(name: string, elemType: number, dims: readonly (number | string | null)[]): void {
    if (!this.values.has(name)) throw new Error(`graph output ${name}: no input, initializer or node gives this value`);
    this.outputs.push(valueInfo(name, elemType, dims));
  }

  /** Adds a weight under a unique name derived from `base`; the tensor's own name is ignored. */
  initializer(base: string, tensor: TensorProto): string {
    const name = this.uniqueName(base);
    this.initializers.push({ ...tensor, name });
    return name;
  }

  /**
   * Appends a node; its outputs get unique names derived from the bases, and the node is named
   * `nameBase` (default: its first output). Returns the output name(s), to feed the next node.
   */
  node(opType: string, inputs: readonly string[], output: string, attributes?: Readonly<Record<string, Attribute>>, nameBase?: string): string;
  node(opType: string, inputs: readonly string[], outputs: readonly string[], attributes?: Readonly<Record<string, Attribute>>, nameBase?: string): string[];
  node(opType: string, inputs: readonly string[], outputBases: string | readonly string[], attributes: Readonly<Record<string, Attribute>> = {}, nameBase?: string): string | string[] {
    const bases = typeof outputBases === 'string' ? [outputBases] : outputBases;
    if (bases.length === 0) throw new Error(`${opType} node: a node needs at least one output`);
    const outputs = bases.map((b) => this.uniqueName(b));
    const name = firstFree(this.nodeNames, nameBase ?? outputs[0]);
    this.nodes.push(nodeProto(opType, inputs, outputs, { name, attributes }));
    return typeof outputBases === 'string' ? outputs[0] : outputs;
  }

  toModel(info: ModelInfo & { graphName: string }): ModelProto {
    const { graphName, ...rest } = info;
    return modelProto({
      ...rest,
      graph: { name: graphName, nodes: this.nodes, initializers: this.initializers, inputs: this.inputs, outputs: this.outputs },
    });
  }
}

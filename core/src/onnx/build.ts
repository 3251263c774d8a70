// Building ONNX protobuf messages: attributes, nodes, value infos and whole models. Every part that
// writes a model (the TF.js importer, the trainer's export, the quantizer) builds through these
// functions, so the same choices (attribute types, attribute order, opset and IR version,
// symbolic dims) are made in one place. Tensors are made by the makers in ./tensors.ts.
import { onnx } from './proto.js';
import type { OnnxTypes } from './proto.js';
import type { ModelProto } from './io.js';
import type { TensorProto } from './tensors.js';
import { IR_VERSION, OPSET } from './versions.js';

export type NodeProto = OnnxTypes.INodeProto;
export type AttributeProto = OnnxTypes.IAttributeProto;
export type ValueInfoProto = OnnxTypes.IValueInfoProto;
export type GraphProto = OnnxTypes.IGraphProto;

/**
 * An attribute value with its ONNX type spelled out. ONNX checks attribute types strictly and a
 * JS number cannot say whether it is INT or FLOAT (LeakyRelu's alpha = 1 must stay a FLOAT), so
 * callers choose. Plain data rather than protobuf, so a graph can still read and rewrite it.
 */
export type Attribute =
  | { type: 'int'; value: number }
  | { type: 'float'; value: number }
  | { type: 'string'; value: string }
  | { type: 'ints'; value: number[] }
  | { type: 'floats'; value: number[] }
  | { type: 'tensor'; value: TensorProto };

/** Attribute constructors, so call sites read `{ perm: attr.ints([0, 2, 1]) }`. */
export const attr = {
  int: (value: number): Attribute => ({ type: 'int', value }),
  float: (value: number): Attribute => ({ type: 'float', value }),
  string: (value: string): Attribute => ({ type: 'string', value }),
  ints: (value: readonly number[]): Attribute => ({ type: 'ints', value: [...value] }),
  floats: (value: readonly number[]): Attribute => ({ type: 'floats', value: [...value] }),
  tensor: (value: TensorProto): Attribute => ({ type: 'tensor', value }),
};

const AttrType = onnx.AttributeProto.AttributeType;

export function attributeProto(name: string, a: Attribute): AttributeProto {
  switch (a.type) {
    case 'int':
      if (!Number.isInteger(a.value)) throw new Error(`attribute ${name}: INT value ${a.value} is not an integer`);
      return { name, type: AttrType.INT, i: a.value };
    case 'float':
      return { name, type: AttrType.FLOAT, f: a.value };
    case 'string':
      return { name, type: AttrType.STRING, s: new TextEncoder().encode(a.value) };
    case 'ints':
      if (!a.value.every(Number.isInteger)) throw new Error(`attribute ${name}: INTS value [${a.value.join(', ')}] holds a non-integer`);
      return { name, type: AttrType.INTS, ints: a.value };
    case 'floats':
      return { name, type: AttrType.FLOATS, floats: a.value };
    case 'tensor':
      return { name, type: AttrType.TENSOR, t: a.value };
  }
}

export interface NodeOptions {
  name?: string;
  attributes?: Readonly<Record<string, Attribute>>;
  /** Operator domain; the default ('') is the standard ONNX domain. */
  domain?: string;
}

/**
 * A NodeProto. Attributes are written sorted by name: the bytes then depend only on what the
 * attributes are, never on the order a caller happened to list them in.
 */
export function nodeProto(opType: string, inputs: readonly string[], outputs: readonly string[], options: NodeOptions = {}): NodeProto {
  const attributes = options.attributes ?? {};
  const node: NodeProto = {
    opType,
    input: [...inputs],
    output: [...outputs],
    attribute: Object.keys(attributes)
      .sort()
      .map((k) => attributeProto(k, attributes[k])),
  };
  if (options.name !== undefined) node.name = options.name;
  if (options.domain) node.domain = options.domain;
  return node;
}

/**
 * A tensor value info. Each dim is a size, a named symbolic dim, or null for the batch dim 'N'.
 * Without `dims` the shape is left out (for intermediate values whose shape ONNX Runtime infers).
 */
export function valueInfo(name: string, elemType: number, dims?: readonly (number | string | null)[]): ValueInfoProto {
  const tensorType: OnnxTypes.TypeProto.ITensor = { elemType };
  if (dims) tensorType.shape = { dim: dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d ?? 'N' })) };
  return { name, type: { tensorType } };
}

/** What a model says about itself besides its graph. */
export interface ModelInfo {
  producerName: string;
  producerVersion?: string;
  docString?: string;
  /** `metadata_props`, in this order. */
  metadata?: Readonly<Record<string, string>>;
  /** Default-domain opset; Kestrel's OPSET unless a caller needs another. */
  opset?: number;
  irVersion?: number;
}

export interface GraphParts {
  name: string;
  nodes: NodeProto[];
  initializers?: TensorProto[];
  inputs: ValueInfoProto[];
  outputs: ValueInfoProto[];
}

export function modelProto(parts: ModelInfo & { graph: GraphParts }): ModelProto {
  const { graph } = parts;
  // fromObject turns the plain objects into protobuf messages, as decoding a file would.
  return onnx.ModelProto.fromObject({
    irVersion: parts.irVersion ?? IR_VERSION,
    opsetImport: [{ domain: '', version: parts.opset ?? OPSET }],
    producerName: parts.producerName,
    ...(parts.producerVersion !== undefined ? { producerVersion: parts.producerVersion } : {}),
    ...(parts.docString ? { docString: parts.docString } : {}),
    graph: { name: graph.name, node: graph.nodes, initializer: graph.initializers ?? [], input: graph.inputs, output: graph.outputs },
    ...(parts.metadata ? { metadataProps: Object.entries(parts.metadata).map(([key, value]) => ({ key, value })) } : {}),
  });
}

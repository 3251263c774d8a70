// Nodes, attributes and models as plain protobuf-shaped objects. Used by the rewriter and by
// tests that build small graphs by hand.
import { onnx } from '@kestrel/core/onnx/proto';
import type { OnnxTypes } from '@kestrel/core/onnx/proto';
import type { ModelProto } from '@kestrel/core/onnx/io';
import { IR_VERSION, OPSET } from '@kestrel/core/onnx/versions';
import type { TensorProto } from './tensors.js';

export type NodeProto = OnnxTypes.INodeProto;
export type AttributeProto = OnnxTypes.IAttributeProto;
export type ValueInfoProto = OnnxTypes.IValueInfoProto;
export type GraphProto = OnnxTypes.IGraphProto;

const AttrType = onnx.AttributeProto.AttributeType;

export type AttrValue = number | string | number[] | { float: number } | { floats: number[] } | TensorProto;

/**
 * Attribute from a JS value. Integers become INT; use `{ float: x }` for a float that happens
 * to be integral (alpha = 1.0), since ONNX checks attribute types strictly.
 */
export function makeAttribute(name: string, value: AttrValue): AttributeProto {
  if (typeof value === 'string') return { name, type: AttrType.STRING, s: new TextEncoder().encode(value) };
  if (typeof value === 'number') {
    return Number.isInteger(value) ? { name, type: AttrType.INT, i: value } : { name, type: AttrType.FLOAT, f: value };
  }
  if (Array.isArray(value)) {
    return value.every((v) => Number.isInteger(v)) ? { name, type: AttrType.INTS, ints: value } : { name, type: AttrType.FLOATS, floats: value };
  }
  if ('float' in value) return { name, type: AttrType.FLOAT, f: value.float };
  if ('floats' in value) return { name, type: AttrType.FLOATS, floats: value.floats };
  return { name, type: AttrType.TENSOR, t: value as TensorProto };
}

export function makeNode(opType: string, inputs: string[], outputs: string[], name: string, attrs: Record<string, AttrValue> = {}, domain = ''): NodeProto {
  const node: NodeProto = { opType, input: inputs, output: outputs, name, attribute: Object.entries(attrs).map(([k, v]) => makeAttribute(k, v)) };
  if (domain) node.domain = domain;
  return node;
}

export function getAttribute(node: NodeProto, name: string): AttributeProto | undefined {
  return (node.attribute ?? []).find((a) => a.name === name);
}

export function attrInt(node: NodeProto, name: string, fallback: number): number {
  const a = getAttribute(node, name);
  return a && a.i !== undefined && a.i !== null ? Number(a.i) : fallback;
}

export function attrFloat(node: NodeProto, name: string, fallback: number): number {
  const a = getAttribute(node, name);
  return a && a.f !== undefined && a.f !== null ? a.f : fallback;
}

export function attrInts(node: NodeProto, name: string): number[] | undefined {
  const a = getAttribute(node, name);
  return a?.ints ? a.ints.map((v) => Number(v)) : undefined;
}

export function attrString(node: NodeProto, name: string, fallback: string): string {
  const a = getAttribute(node, name);
  return a?.s && a.s.length > 0 ? new TextDecoder().decode(a.s) : fallback;
}

export function setAttribute(node: NodeProto, name: string, value: AttrValue): void {
  const rest = (node.attribute ?? []).filter((a) => a.name !== name);
  node.attribute = [...rest, makeAttribute(name, value)];
}

/** A float32 tensor value info; `null` dims are symbolic (batch). */
export function floatValueInfo(name: string, dims?: readonly (number | string | null)[]): ValueInfoProto {
  return valueInfo(name, onnx.TensorProto.DataType.FLOAT, dims);
}

export function valueInfo(name: string, elemType: number, dims?: readonly (number | string | null)[]): ValueInfoProto {
  const tensorType: OnnxTypes.TypeProto.ITensor = { elemType };
  if (dims) {
    tensorType.shape = { dim: dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d ?? 'N' })) };
  }
  return { name, type: { tensorType } };
}

export interface ModelParts {
  nodes: NodeProto[];
  inputs: ValueInfoProto[];
  outputs: ValueInfoProto[];
  initializers?: TensorProto[];
  opset?: number;
  name?: string;
  metadata?: Record<string, string>;
}

export function makeModel(parts: ModelParts): ModelProto {
  return onnx.ModelProto.create({
    irVersion: IR_VERSION,
    producerName: 'kestrel',
    opsetImport: [{ domain: '', version: parts.opset ?? OPSET }],
    graph: {
      name: parts.name ?? 'graph',
      node: parts.nodes,
      input: parts.inputs,
      output: parts.outputs,
      initializer: parts.initializers ?? [],
    },
    metadataProps: Object.entries(parts.metadata ?? {}).map(([key, value]) => ({ key, value })),
  }) as ModelProto;
}

/** The model's default-domain opset version (the one that decides operator semantics). */
export function defaultOpset(model: ModelProto): number {
  const entry = (model.opsetImport ?? []).find((o) => !o.domain || o.domain === 'ai.onnx');
  return entry ? Number(entry.version) : 0;
}

export function setDefaultOpset(model: ModelProto, version: number): void {
  const others = (model.opsetImport ?? []).filter((o) => o.domain && o.domain !== 'ai.onnx');
  model.opsetImport = [{ domain: '', version }, ...others] as ModelProto['opsetImport'];
}

// Reading the nodes of a model the quantizer was given: attribute getters with ONNX's defaults,
// and the model's opset. New nodes, tensors and value infos are built with core's
// @kestrel/core/onnx/build and @kestrel/core/onnx/tensors.
import type { ModelProto } from '@kestrel/core/onnx/io';
import type { AttributeProto, NodeProto } from '@kestrel/core/onnx/build';

export type { NodeProto, AttributeProto, ValueInfoProto, GraphProto } from '@kestrel/core/onnx/build';

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

/** The model's default-domain opset version (the one that decides operator semantics). */
export function defaultOpset(model: ModelProto): number {
  const entry = (model.opsetImport ?? []).find((o) => !o.domain || o.domain === 'ai.onnx');
  return entry ? Number(entry.version) : 0;
}

export function setDefaultOpset(model: ModelProto, version: number): void {
  const others = (model.opsetImport ?? []).filter((o) => o.domain && o.domain !== 'ai.onnx');
  model.opsetImport = [{ domain: '', version }, ...others] as ModelProto['opsetImport'];
}

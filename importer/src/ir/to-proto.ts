// OnnxGraph → ONNX ModelProto. Output is a pure function of the graph, so the same TF.js model
// always gives the same bytes (the committed default model is checked against a fresh build).
import { onnx } from '@kestrel/core/onnx/proto';
import type { ModelProto } from '@kestrel/core/onnx/io';
import { IR_VERSION, OPSET } from '@kestrel/core/onnx/versions';
import { toLittleEndianBytes, type HostDType, type HostTensor } from '../tensor.js';
import type { OnnxAttribute, OnnxGraph, OnnxNode, ValueInfo } from './graph.js';

/** ONNX TensorProto.DataType codes of the dtypes the importer produces. */
export const ONNX_DTYPE: Record<HostDType, number> = { float32: 1, int32: 6, int64: 7, bool: 9 };

export interface ModelInfo {
  graphName: string;
  producerName: string;
  producerVersion: string;
  docString?: string;
}

function attributeToProto(name: string, a: OnnxAttribute): Record<string, unknown> {
  switch (a.type) {
    case 'int':
      return { name, type: 2, i: a.value };
    case 'float':
      return { name, type: 1, f: a.value };
    case 'string':
      return { name, type: 3, s: Buffer.from(a.value, 'utf8') };
    case 'ints':
      return { name, type: 7, ints: a.value };
    case 'floats':
      return { name, type: 6, floats: a.value };
  }
}

function nodeToProto(node: OnnxNode): Record<string, unknown> {
  // Attributes sorted by name: a stable order whatever order the converter set them in.
  const attribute = Object.keys(node.attributes)
    .sort()
    .map((k) => attributeToProto(k, node.attributes[k]));
  return { name: node.name, opType: node.opType, input: node.inputs, output: node.outputs, attribute };
}

export function tensorToProto(name: string, t: HostTensor): Record<string, unknown> {
  return { name, dims: [...t.shape], dataType: ONNX_DTYPE[t.dtype], rawData: toLittleEndianBytes(t) };
}

function valueInfoToProto(v: ValueInfo): Record<string, unknown> {
  return {
    name: v.name,
    type: { tensorType: { elemType: ONNX_DTYPE[v.dtype], shape: { dim: v.dims.map((d) => (d >= 0 ? { dimValue: d } : { dimParam: 'N' })) } } },
  };
}

export function graphToModelProto(graph: OnnxGraph, info: ModelInfo): ModelProto {
  const plain = {
    irVersion: IR_VERSION,
    opsetImport: [{ domain: '', version: OPSET }],
    producerName: info.producerName,
    producerVersion: info.producerVersion,
    ...(info.docString ? { docString: info.docString } : {}),
    graph: {
      name: info.graphName,
      node: graph.nodes.map(nodeToProto),
      initializer: [...graph.initializers].map(([name, t]) => tensorToProto(name, t)),
      input: graph.inputs.map(valueInfoToProto),
      output: graph.outputs.map(valueInfoToProto),
    },
  };
  return onnx.ModelProto.fromObject(plain);
}

// OnnxGraph → ONNX ModelProto, through core's builders. Output is a pure function of the graph,
// so the same TF.js model always gives the same bytes (the committed default model is checked
// against a fresh build).
import type { ModelProto } from '@kestrel/core/onnx/io';
import { modelProto, nodeProto, valueInfo, type ModelInfo } from '@kestrel/core/onnx/build';
import { DataType, boolTensor, floatTensor, int32Tensor, int64Tensor, type TensorProto } from '@kestrel/core/onnx/tensors';
import type { HostDType, HostTensor } from '../tensor.js';
import type { OnnxGraph, ValueInfo } from './graph.js';

/** ONNX TensorProto.DataType codes of the dtypes the importer produces. */
export const ONNX_DTYPE: Record<HostDType, number> = { float32: DataType.FLOAT, int32: DataType.INT32, int64: DataType.INT64, bool: DataType.BOOL };

export function tensorToProto(name: string, t: HostTensor): TensorProto {
  switch (t.dtype) {
    case 'float32':
      return floatTensor(name, t.shape, t.data as Float32Array);
    case 'int32':
      return int32Tensor(name, t.shape, t.data as Int32Array);
    case 'int64':
      return int64Tensor(name, t.shape, t.data as BigInt64Array);
    case 'bool':
      return boolTensor(name, t.shape, t.data as Uint8Array);
  }
}

/** The IR marks an unknown dim with -1; ONNX names it (the batch dim 'N'). */
function valueInfoToProto(v: ValueInfo) {
  return valueInfo(v.name, ONNX_DTYPE[v.dtype], v.dims.map((d) => (d >= 0 ? d : null)));
}

export function graphToModelProto(graph: OnnxGraph, info: ModelInfo & { graphName: string }): ModelProto {
  const { graphName, ...header } = info;
  return modelProto({
    ...header,
    graph: {
      name: graphName,
      nodes: graph.nodes.map((n) => nodeProto(n.opType, n.inputs, n.outputs, { name: n.name, attributes: n.attributes })),
      initializers: [...graph.initializers].map(([name, t]) => tensorToProto(name, t)),
      inputs: graph.inputs.map(valueInfoToProto),
      outputs: graph.outputs.map(valueInfoToProto),
    },
  });
}

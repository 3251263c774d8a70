// Small ONNX models built in code, for tests that need a real model with a particular shape.
import { onnx, encodeModel, writeMetadata, type KestrelMetadata } from '@kestrel/core';

const FLOAT = onnx.TensorProto.DataType.FLOAT;

function valueInfo(name: string, dims: number[]) {
  return onnx.ValueInfoProto.create({
    name,
    type: { tensorType: { elemType: FLOAT, shape: { dim: dims.map((d) => ({ dimValue: d })) } } },
  });
}

/** input [1,3,size,size] → GlobalAveragePool → `pooled` [1,3,1,1]: runs, but matches no decoder. */
export function poolingModel(size: number, meta?: KestrelMetadata): Uint8Array {
  const model = onnx.ModelProto.create({
    irVersion: 8,
    producerName: 'kestrel-test',
    opsetImport: [{ domain: '', version: 13 }],
    graph: {
      name: 'pool',
      node: [{ opType: 'GlobalAveragePool', input: ['input'], output: ['pooled'], name: 'pool' }],
      input: [valueInfo('input', [1, 3, size, size])],
      output: [valueInfo('pooled', [1, 3, 1, 1])],
    },
  });
  if (meta) writeMetadata(model, meta);
  return encodeModel(model);
}

export function testMetadata(overrides: Partial<KestrelMetadata> = {}): KestrelMetadata {
  return {
    decoder: 'yolov8',
    labels: ['thing'],
    input: { width: 32, height: 32, layout: 'NCHW', colour: 'RGB', mean: [0, 0, 0], std: [255, 255, 255], letterbox: true, padValue: 114 },
    ...overrides,
  };
}

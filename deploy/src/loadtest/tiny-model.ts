import { defaultInputSpec, encodeModel, onnx, writeMetadata } from '@kestrel/core';
import { attr, modelProto, nodeProto, valueInfo } from '@kestrel/core/onnx/build';
import { floatTensor, int64Tensor } from '@kestrel/core/onnx/tensors';

const FLOAT = onnx.TensorProto.DataType.FLOAT;

/**
 * A one-output YOLOv8-shaped model ([1, 5, 1]: one anchor, one class `thing`) of `size`×`size`
 * input: a Conv over the whole image with `weight` (one value for every weight), then `ops`
 * (unary ONNX ops, in order), reshaped to the decoder's layout. A real Kestrel model (metadata
 * and all) of a few kilobytes: what the load test releases, and what update tests run.
 */
export function oneAnchorDetector(size: number, version: string, conv: { weight: number; bias?: number[] }, ops: string[] = []): Uint8Array {
  const nodes = [nodeProto('Conv', ['input', 'w', ...(conv.bias ? ['b'] : [])], ['v0'], { name: 'conv', attributes: { strides: attr.ints([size, size]) } })];
  ops.forEach((op, i) => nodes.push(nodeProto(op, [`v${i}`], [`v${i + 1}`], { name: op.toLowerCase() })));
  nodes.push(nodeProto('Reshape', [`v${ops.length}`, 'shape'], ['output0'], { name: 'reshape' }));
  const model = modelProto({
    producerName: 'kestrel-test',
    graph: {
      name: 'fixed',
      nodes,
      initializers: [
        floatTensor('w', [5, 3, size, size], new Float32Array(5 * 3 * size * size).fill(conv.weight)),
        ...(conv.bias ? [floatTensor('b', [5], conv.bias)] : []),
        int64Tensor('shape', [3], [1, 5, 1]),
      ],
      inputs: [valueInfo('input', FLOAT, [1, 3, size, size])],
      outputs: [valueInfo('output0', FLOAT, [1, 5, 1])],
    },
  });
  writeMetadata(model, { decoder: 'yolov8', labels: ['thing'], input: defaultInputSpec(size, size), name: 'fixed', version });
  return encodeModel(model);
}

/**
 * A YOLOv8-shaped detector of `size`×`size` input that finds one fixed box with `score` in every
 * frame (score 0: finds nothing). A zero-weight Conv over the whole image gives its bias.
 */
export function fixedDetector(size: number, score: number, version = `s${score}`): Uint8Array {
  return oneAnchorDetector(size, version, { weight: 0, bias: [size / 2, size / 2, size / 4, size / 4, score] });
}

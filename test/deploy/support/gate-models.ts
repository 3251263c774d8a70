// Models of known quality for release-gate tests: a YOLOv8-shaped detector that finds one box,
// where the test puts it, in every image. A zero-weight Conv over the whole input gives its bias,
// so the box sits at fixed model-input pixels; placed on the reviewed object it scores mAP 1,
// placed beside it 0.
import { defaultInputSpec, encodeModel, letterboxBox, letterboxGeometry, onnx, writeMetadata, type Box } from '@kestrel/core';
import { attr, modelProto, nodeProto, valueInfo } from '@kestrel/core/onnx/build';
import { floatTensor, int64Tensor } from '@kestrel/core/onnx/tensors';

const FLOAT = onnx.TensorProto.DataType.FLOAT;

export interface BoxDetectorOptions {
  /** Model input, square. */
  size: number;
  /** Where the box lands, in the pixels of an image `imageSize` big (letterboxed into the input). */
  box: Box;
  imageSize: [number, number];
  score?: number;
  labels?: string[];
  /** Class the box is given (index into labels). */
  classId?: number;
  version?: string;
}

export function boxDetector(o: BoxDetectorOptions): Uint8Array {
  const labels = o.labels ?? ['person'];
  const channels = 4 + labels.length;
  const [x1, y1, x2, y2] = letterboxBox(o.box, letterboxGeometry(o.imageSize[0], o.imageSize[1], o.size, o.size));
  const bias = [(x1 + x2) / 2, (y1 + y2) / 2, x2 - x1, y2 - y1, ...labels.map((_, i) => (i === (o.classId ?? 0) ? (o.score ?? 0.9) : 0))];
  const model = modelProto({
    producerName: 'kestrel-test',
    graph: {
      name: 'box',
      nodes: [
        nodeProto('Conv', ['input', 'w', 'b'], ['v0'], { name: 'conv', attributes: { strides: attr.ints([o.size, o.size]) } }),
        nodeProto('Reshape', ['v0', 'shape'], ['output0'], { name: 'reshape' }),
      ],
      initializers: [
        floatTensor('w', [channels, 3, o.size, o.size], new Float32Array(channels * 3 * o.size * o.size)),
        floatTensor('b', [channels], bias),
        int64Tensor('shape', [3], [1, channels, 1]),
      ],
      inputs: [valueInfo('input', FLOAT, [1, 3, o.size, o.size])],
      outputs: [valueInfo('output0', FLOAT, [1, channels, 1])],
    },
  });
  writeMetadata(model, { decoder: 'yolov8', labels, input: defaultInputSpec(o.size, o.size), name: 'box', version: o.version ?? '1' });
  return encodeModel(model);
}

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { getDecoder, nms, iou, sidesFromDistribution, type KestrelMetadata, type ModelOutputs, isKestrelError } from '@kestrel/core';

const input = { width: 64, height: 32, layout: 'NCHW' as const, colour: 'RGB' as const, mean: [0, 0, 0] as [number, number, number], std: [255, 255, 255] as [number, number, number], letterbox: true };

test('yolov8 decoder reads [1, 4+C, anchors] and takes the best class per anchor', () => {
  const meta: KestrelMetadata = { decoder: 'yolov8', labels: ['a', 'b'], input };
  const anchors = 3;
  // channels: cx, cy, w, h, score a, score b  (channel-major)
  const rows = [
    [10, 20, 30], // cx
    [10, 16, 5], // cy
    [4, 8, 2], // w
    [6, 4, 2], // h
    [0.9, 0.1, 0.2], // a
    [0.3, 0.8, 0.1], // b
  ];
  const data = Float32Array.from(rows.flat());
  const outputs: ModelOutputs = { output0: { data, dims: [1, 6, anchors] } };
  const dets = getDecoder('yolov8').decode(outputs, meta, { scoreThreshold: 0.5 });
  assert.equal(dets.length, 2);
  assert.deepEqual(dets[0], { classId: 0, label: 'a', score: Float32Array.from([0.9])[0], box: [8, 7, 12, 13] });
  assert.equal(dets[1].label, 'b');
  assert.deepEqual(dets[1].box, [16, 14, 24, 18]);
});

test('yolov8 decoder accepts the transposed [1, anchors, 4+C] layout with the same result', () => {
  const meta: KestrelMetadata = { decoder: 'yolov8', labels: ['a'], input };
  const data = Float32Array.from([10, 10, 4, 6, 0.9, 20, 16, 8, 4, 0.2]);
  const dets = getDecoder('yolov8').decode({ out: { data, dims: [1, 2, 5] } }, meta, { scoreThreshold: 0.5 });
  assert.equal(dets.length, 1);
  assert.deepEqual(dets[0].box, [8, 7, 12, 13]);
});

test('yolov8 decoder names the mismatch when the outputs do not fit the labels', () => {
  const meta: KestrelMetadata = { decoder: 'yolov8', labels: ['a', 'b', 'c'], input };
  assert.throws(
    () => getDecoder('yolov8').check({ output0: [1, 84, 8400] }, meta),
    (err: unknown) => isKestrelError(err) && err.code === 'E_MODEL_OUTPUTS' && /output0\[1,84,8400\]/.test(err.message) && /3 classes/.test(err.message),
  );
});

test('distribution sides are the softmax expectation of the bins', () => {
  // side 0: all mass on bin 2; side 1: uniform over 0..3 (mean 1.5); sides 2,3: bin 0
  const big = 50;
  const data = Float32Array.from([0, 0, big, 0, 1, 1, 1, 1, big, 0, 0, 0, big, 0, 0, 0]);
  const out = new Float32Array(4);
  sidesFromDistribution(data, 0, 4, out);
  assert.ok(Math.abs(out[0] - 2) < 1e-6);
  assert.ok(Math.abs(out[1] - 1.5) < 1e-6);
  assert.ok(out[2] < 1e-6 && out[3] < 1e-6);
});

test('nanodet decoder places boxes around the cell centre, scaled by the stride', () => {
  // 32x32 input, strides 16 and 32 → grids 2x2 and 1x1; regMax 3 (4 bins)
  const meta: KestrelMetadata = { decoder: 'nanodet', labels: ['a', 'b'], input: { ...input, width: 32, height: 32 }, strides: [16, 32], regMax: 3 };
  const scores16 = new Float32Array(4 * 2);
  scores16[3 * 2 + 1] = 0.9; // cell 3 (col 1,row 1), class b
  const boxes16 = new Float32Array(4 * 16).fill(-50);
  // cell 3: every side all mass on bin 1 → distance 1 × 16
  for (let side = 0; side < 4; side++) boxes16[3 * 16 + side * 4 + 1] = 50;
  const outputs: ModelOutputs = {
    scores_16: { data: scores16, dims: [1, 4, 2] },
    boxes_16: { data: boxes16, dims: [1, 4, 16] },
    scores_32: { data: new Float32Array(2), dims: [1, 1, 2] },
    boxes_32: { data: new Float32Array(16), dims: [1, 1, 16] },
  };
  const dets = getDecoder('nanodet').decode(outputs, meta, { scoreThreshold: 0.5 });
  assert.equal(dets.length, 1);
  assert.equal(dets[0].label, 'b');
  // centre (1.5·16, 1.5·16) = (24, 24); sides 16 → [8, 8, 40, 40]
  dets[0].box.forEach((v, i) => assert.ok(Math.abs(v - [8, 8, 40, 40][i]) < 1e-3, `box[${i}] = ${v}`));
});

test('nanodet decoder refuses outputs of the wrong grid size, naming the stride', () => {
  const meta: KestrelMetadata = { decoder: 'nanodet', labels: ['a'], input: { ...input, width: 32, height: 32 }, strides: [16], regMax: 3 };
  assert.throws(() => getDecoder('nanodet').check({ scores_16: [1, 9, 1], boxes_16: [1, 9, 16] }, meta), /stride 16/);
});

test('kestrel decoder reads ltrb distances in pixels from anchor points', () => {
  const meta: KestrelMetadata = { decoder: 'kestrel', labels: ['a'], input: { ...input, width: 16, height: 16 }, strides: [8, 16] };
  // anchors: stride 8 → 2x2 = 4, stride 16 → 1 ; N = 5
  const scores = Float32Array.from([0, 0, 0.8, 0, 0.6]);
  const boxes = new Float32Array(5 * 4);
  boxes.set([2, 3, 4, 5], 2 * 4); // anchor 2: col 0, row 1 at stride 8 → point (4, 12)
  boxes.set([8, 8, 8, 8], 4 * 4); // anchor 4: stride 16 point (8, 8)
  const dets = getDecoder('kestrel').decode({ scores: { data: scores, dims: [1, 5, 1] }, boxes: { data: boxes, dims: [1, 5, 4] } }, meta, { scoreThreshold: 0.5 });
  assert.deepEqual(dets.map((d) => d.box), [[2, 9, 8, 17], [0, 0, 16, 16]]);
  assert.throws(() => getDecoder('kestrel').check({ scores: [1, 4, 1], boxes: [1, 4, 4] }, meta), /\[1,5,1\]/);
});

test('NMS suppresses overlapping boxes of one class but keeps other classes', () => {
  const a = { classId: 0, label: 'a', score: 0.9, box: [0, 0, 10, 10] as [number, number, number, number] };
  const a2 = { ...a, score: 0.8, box: [1, 1, 11, 11] as [number, number, number, number] };
  const b = { ...a, classId: 1, label: 'b', score: 0.7 };
  const far = { ...a, score: 0.6, box: [50, 50, 60, 60] as [number, number, number, number] };
  assert.deepEqual(nms([a2, b, far, a], { iouThreshold: 0.5, maxDetections: 10 }), [a, b, far]);
  assert.deepEqual(nms([a2, b, far, a], { iouThreshold: 0.5, maxDetections: 10, classAgnostic: true }), [a, far]);
  assert.deepEqual(nms([a2, b, far, a], { iouThreshold: 0.5, maxDetections: 1 }), [a]);
  assert.ok(Math.abs(iou(a.box, a2.box) - 81 / 119) < 1e-9);
});

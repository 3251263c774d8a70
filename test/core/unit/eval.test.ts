import { test } from 'node:test';
import assert from 'node:assert/strict';
import { evaluateDetections, averagePrecision101, COCO_IOU_THRESHOLDS, confusionMatrix } from '@kestrel/core/eval/index';
import type { Detection, Box } from '@kestrel/core';

const det = (classId: number, score: number, box: Box): Detection => ({ classId, label: `c${classId}`, score, box });
const close = (actual: number, expected: number, tol = 1e-9) => assert.ok(Math.abs(actual - expected) <= tol, `${actual} != ${expected}`);

test('COCO IoU thresholds are 0.50, 0.55, ..., 0.95', () => {
  assert.deepEqual(COCO_IOU_THRESHOLDS, [0.5, 0.55, 0.6, 0.65, 0.7, 0.75, 0.8, 0.85, 0.9, 0.95]);
});

test('AP with a false positive between two hits is read at 101 recall points', () => {
  // Two truths; detections TP (0.9), FP (0.8), TP (0.7).
  // precision 1, 1/2, 2/3 at recall 1/2, 1/2, 1; monotone envelope 1, 2/3, 2/3.
  // Recall points 0.00..0.50 (51 of them) read 1; 0.51..1.00 (50) read 2/3.
  // AP = (51 + 50 * 2/3) / 101 = 0.834983...
  const truths = [{ imageId: 'a', boxes: [{ classId: 0, box: [0, 0, 10, 10] as Box }, { classId: 0, box: [20, 20, 30, 30] as Box }] }];
  const preds = [{ imageId: 'a', detections: [det(0, 0.9, [0, 0, 10, 10]), det(0, 0.8, [50, 50, 60, 60]), det(0, 0.7, [20, 20, 30, 30])] }];
  const m = evaluateDetections(preds, truths);
  close(m.map50, (51 + (50 * 2) / 3) / 101);
  // Every hit is exact (IoU 1), so every IoU threshold gives the same AP.
  close(m.map50to95, m.map50);
  // Best F1: at 0.9 F1 = 2/3, at 0.8 F1 = 1/2, at 0.7 P = 2/3, R = 1, F1 = 0.8.
  close(m.scoreThreshold, 0.7);
  close(m.precision, 2 / 3);
  close(m.recall, 1);
  close(m.f1, 0.8);
});

test('a box at IoU 0.8 counts at thresholds 0.50..0.80 only: mAP@0.5:0.95 = 0.7', () => {
  // [0,0,10,8] inside [0,0,10,10]: IoU 80/100 = 0.8; 7 of the 10 thresholds (0.5..0.8) match.
  const truths = [{ imageId: 'a', boxes: [{ classId: 3, box: [0, 0, 10, 10] as Box }] }];
  const preds = [{ imageId: 'a', detections: [det(3, 0.5, [0, 0, 10, 8])] }];
  const m = evaluateDetections(preds, truths);
  close(m.map50, 1);
  close(m.map50to95, 0.7);
});

test('greedy matching: the higher-scoring loose box takes the truth at 0.5, the tight one at 0.75', () => {
  // Truth [0,0,10,10]. A: score 0.9, [0,0,10,6] IoU 0.6. B: score 0.8, [0,0,10,9] IoU 0.9.
  // IoU 0.5: A TP, B FP (truth taken) -> precision 1 at recall 1 -> AP 1.
  // IoU 0.75: A FP, B TP -> precision 0, 1/2 at recall 0, 1; envelope 1/2 -> AP 0.5.
  const truths = [{ imageId: 'a', boxes: [{ classId: 0, box: [0, 0, 10, 10] as Box }] }];
  const preds = [{ imageId: 'a', detections: [det(0, 0.9, [0, 0, 10, 6]), det(0, 0.8, [0, 0, 10, 9])] }];
  const m = evaluateDetections(preds, truths);
  close(m.map50, 1);
  // Thresholds 0.5..0.6 (3): A matches -> AP 1. 0.65..0.9 (6): B matches -> AP 0.5. 0.95: none -> 0.
  close(m.map50to95, (3 * 1 + 6 * 0.5 + 0) / 10);
});

test('a missed truth caps recall: AP = 51/101 when half the objects are found', () => {
  // One TP at recall 1/2, precision 1: recall points 0..0.50 read 1, the rest 0.
  const truths = [{ imageId: 'a', boxes: [{ classId: 0, box: [0, 0, 10, 10] as Box }, { classId: 0, box: [40, 40, 50, 50] as Box }] }];
  const preds = [{ imageId: 'a', detections: [det(0, 0.9, [0, 0, 10, 10])] }];
  close(evaluateDetections(preds, truths).map50, 51 / 101);
});

test('mAP averages classes with ground truth; classes found only by the model are left out', () => {
  // Class 0: AP 1 (one exact hit). Class 1: one truth, not found: AP 0. Class 2: no truth (ignored).
  // mAP = (1 + 0) / 2 = 0.5.
  const truths = [
    { imageId: 'a', boxes: [{ classId: 0, box: [0, 0, 10, 10] as Box }] },
    { imageId: 'b', boxes: [{ classId: 1, box: [0, 0, 10, 10] as Box }] },
  ];
  const preds = [
    { imageId: 'a', detections: [det(0, 0.9, [0, 0, 10, 10]), det(2, 0.95, [30, 30, 40, 40])] },
    { imageId: 'b', detections: [] },
  ];
  const m = evaluateDetections(preds, truths);
  close(m.map50, 0.5);
  assert.equal(m.perClass.length, 3);
  assert.equal(m.perClass.find((c) => c.classId === 2)?.truths, 0);
  close(m.perClass.find((c) => c.classId === 1)!.ap50, 0);
  // Pooled: at 0.95 one FP (F1 0); at 0.9 one TP of 2 detections and 2 truths: P = R = F1 = 1/2.
  close(m.f1, 0.5);
  close(m.scoreThreshold, 0.9);
});

test('a class with no detections and no truths does not exist; an empty evaluation is NaN', () => {
  const m = evaluateDetections([], []);
  assert.ok(Number.isNaN(m.map50));
  assert.equal(m.f1, 0);
  assert.equal(m.images, 0);
});

test('AP of detections for a class without truths is NaN (undefined), not 0', () => {
  assert.ok(Number.isNaN(averagePrecision101([0.9], [false], 0)));
  close(averagePrecision101([0.2, 0.9], [true, true], 2), 1);
});

test('confusion matrix: mislabel, miss and false alarm land in their cells', () => {
  // Truth class 0 at A predicted as class 1 -> [0][1]. Truth class 1 at B missed -> [1][bg].
  // Class 0 detection on empty ground -> [bg][0]. A low-score detection below the threshold is ignored.
  const truths = [{ imageId: 'a', boxes: [{ classId: 0, box: [0, 0, 10, 10] as Box }, { classId: 1, box: [50, 50, 60, 60] as Box }] }];
  const preds = [{ imageId: 'a', detections: [det(1, 0.9, [1, 0, 10, 10]), det(0, 0.8, [100, 100, 110, 110]), det(1, 0.1, [50, 50, 60, 60])] }];
  const c = confusionMatrix(preds, truths, 2, 0.25, 0.5);
  assert.deepEqual(c.matrix, [
    [0, 1, 0],
    [0, 0, 1],
    [1, 0, 0],
  ]);
  const m = evaluateDetections(preds, truths, { labels: ['cat', 'dog'], confusionScoreThreshold: 0.25 });
  assert.deepEqual(m.confusion.matrix, c.matrix);
  assert.equal(m.perClass[0].label, 'cat');
});

test('confusion matrix rejects class ids outside the label set', () => {
  const preds = [{ imageId: 'a', detections: [det(5, 0.9, [0, 0, 1, 1])] }];
  assert.throws(() => confusionMatrix(preds, [], 2, 0, 0.5), /class id 5/);
});

test('the same objects found with slightly moved boxes and changed scores give mAP@0.5 = 1', () => {
  // The quantizer's agreement check in miniature: FP32 detections as truth, INT8 as predictions.
  const reference: Box[] = [[10, 10, 50, 80], [100, 20, 180, 90], [5, 120, 60, 200]];
  const truths = [{ imageId: 'x', boxes: reference.map((box, i) => ({ classId: i, box })) }];
  const preds = [{ imageId: 'x', detections: reference.map((b, i) => det(i, 0.6 + i * 0.1, [b[0] + 1, b[1] - 1, b[2] + 2, b[3]] as Box)) }];
  close(evaluateDetections(preds, truths).map50, 1);
});

test('a detection on an ignore box (VOC difficult, COCO crowd) counts neither way', () => {
  // Truth A; ignore box B. Detections: 0.9 on B, 0.8 on A.
  // Without the ignore box: FP then TP -> precision 0, 1/2 at recall 0, 1 -> AP = 0.5.
  // With it: the detection on B is dropped -> AP = 1; and it is no false alarm in the matrix.
  const a: Box = [0, 0, 10, 10];
  const b: Box = [50, 50, 60, 60];
  const preds = [{ imageId: 'i', detections: [det(0, 0.9, b), det(0, 0.8, a)] }];
  close(evaluateDetections(preds, [{ imageId: 'i', boxes: [{ classId: 0, box: a }] }]).map50, 0.5);
  const m = evaluateDetections(preds, [{ imageId: 'i', boxes: [{ classId: 0, box: a }], ignore: [{ classId: 0, box: b }] }], { confusionScoreThreshold: 0.5 });
  close(m.map50, 1);
  assert.deepEqual(m.confusion.matrix, [
    [1, 0],
    [0, 0],
  ]);
  // An ignore box of another class does not excuse the detection.
  close(evaluateDetections(preds, [{ imageId: 'i', boxes: [{ classId: 0, box: a }], ignore: [{ classId: 1, box: b }] }]).map50, 0.5);
});

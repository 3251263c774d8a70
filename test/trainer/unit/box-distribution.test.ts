// Box sides as distributions (GFL): the head's bins are read side-major and averaged into
// distances, each positive's sides get two-bin targets whose mean is the true distance, and
// distribution focal loss is smallest when the prediction is that target.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { selectBackend } from '@kestrel/trainer/backend/select';
import { anchorPoints, buildDetector, decodeHead } from '@kestrel/trainer/model/build';
import { anchorSet } from '@kestrel/trainer/model/assign';
import { resolveDetectorConfig, withSavedDefaults } from '@kestrel/trainer/model/config';
import { buildTargets, distributionFocalLoss } from '@kestrel/trainer/model/loss';
import { isKestrelError } from '@kestrel/core/util/errors';

test('each side reads its own bins: the distance is the distribution\'s mean × stride', async () => {
  await selectBackend();
  const bins = 4;
  const model = buildDetector(resolveDetectorConfig({ labels: ['a'], inputHeight: 64, inputWidth: 64, width: 0.25, strides: [16, 32], boxBins: bins }), 1);
  // Side s puts (nearly) all its mass on bin s; on the stride-32 level side 1 splits 50/50 over bins 1 and 2.
  const boxMap = (rows: number, split: boolean) => {
    const v = new Float32Array(rows * rows * 4 * bins).fill(-30);
    for (let p = 0; p < rows * rows; p++) {
      for (let s = 0; s < 4; s++) v[(p * 4 + s) * bins + s] = 30;
      if (split) v[(p * 4 + 1) * bins + 2] = 30;
    }
    return tf.tensor4d(v, [1, rows, rows, 4 * bins]);
  };
  const maps = [tf.zeros([1, 4, 4, 1]), boxMap(4, false), tf.zeros([1, 2, 2, 1]), boxMap(2, true)];
  const out = decodeHead(model, maps);
  const d = out.distances.dataSync();
  assert.deepEqual(out.distances.shape, [1, 16 + 4, 4]);
  assert.deepEqual(Array.from(d.slice(0, 4), (x) => Math.round(x * 100) / 100), [0, 16, 32, 48], 'stride 16: side s at bin s');
  assert.deepEqual(Array.from(d.slice(16 * 4, 16 * 4 + 4), (x) => Math.round(x * 100) / 100), [0, 48, 64, 96], 'stride 32: side 1 halfway between bins 1 and 2');
  assert.deepEqual(out.sideLogits?.shape, [1, 20, 4, bins]);
  tf.dispose([...maps, out.logits, out.distances, out.sideLogits!]);
  model.net.dispose();
});

test('a positive\'s sides get two-bin targets whose mean is its distance in strides, clipped to the last bin', () => {
  const bins = 8;
  const config = resolveDetectorConfig({ labels: ['a'], inputHeight: 64, inputWidth: 64, strides: [8], boxBins: bins });
  const { points, strides } = anchorPoints(config);
  // A 60 × 14 box: its left-to-right extent (up to 7 strides from some points) reaches past the last bin.
  const box: [number, number, number, number] = [2, 25, 62, 39];
  const t = buildTargets(anchorSet(points, strides), [{ boxes: [{ classId: 0, box }] }], [1], bins);
  assert.ok(t.positives > 0 && t.sideTargets);
  for (let i = 0; i < strides.length; i++) {
    if (t.labels[i] < 0) {
      assert.ok(t.sideTargets.subarray(i * 4 * bins, (i + 1) * 4 * bins).every((v) => v === 0), 'background points have no side targets');
      continue;
    }
    const sides = [points[2 * i] - box[0], points[2 * i + 1] - box[1], box[2] - points[2 * i], box[3] - points[2 * i + 1]];
    for (let s = 0; s < 4; s++) {
      const target = t.sideTargets.subarray((i * 4 + s) * bins, (i * 4 + s + 1) * bins);
      const mass = target.reduce((a, b) => a + b, 0);
      const mean = target.reduce((a, v, k) => a + v * k, 0);
      assert.ok(Math.abs(mass - 1) < 1e-6, `point ${i} side ${s}: target mass ${mass}`);
      assert.ok(target.filter((v) => v > 0).length <= 2, 'at most two bins');
      assert.ok(Math.abs(mean - Math.min(sides[s] / 8, bins - 1 - 1e-3)) < 1e-5, `point ${i} side ${s}: mean ${mean} for ${sides[s] / 8} strides`);
    }
  }
});

test('distribution focal loss is the target\'s entropy at the target and grows away from it', async () => {
  await selectBackend();
  const bins = 4;
  // One positive point (weight 1) and one background point (weight 0, no targets).
  const target = new Float32Array(2 * 4 * bins);
  for (let s = 0; s < 4; s++) target.set([0, 0.7, 0.3, 0], s * bins);
  const weight = tf.tensor2d([1, 0], [1, 2]);
  const loss = (perSide: number[]) => {
    const logits = tf.tensor4d(Array.from({ length: 2 * 4 }, () => perSide).flat(), [1, 2, 4, bins]);
    const v = distributionFocalLoss(logits, target, weight, tf.scalar(1)).dataSync()[0];
    logits.dispose();
    return v;
  };
  const entropy = -(0.7 * Math.log(0.7) + 0.3 * Math.log(0.3));
  const atTarget = loss([-50, Math.log(0.7), Math.log(0.3), -50]);
  assert.ok(Math.abs(atTarget - entropy) < 1e-4, `at the target: ${atTarget}, entropy ${entropy}`);
  assert.ok(loss([0, 0, 0, 0]) > atTarget + 0.1, 'uniform is worse');
  assert.ok(loss([0, 0, 5, 0]) > loss([0, 5, 0, 0]), 'mass on the farther bin is worse than on the nearer one');
  weight.dispose();
});

test('bins are checked, and configs saved before bins existed load with one value per side', () => {
  assert.equal(withSavedDefaults({ width: 0.5 }).boxBins, 0);
  assert.equal(withSavedDefaults({ boxBins: 8 }).boxBins, 8);
  assert.equal(resolveDetectorConfig({ labels: ['a'] }).boxBins, 8, 'new detectors have bins');
  // Half the input, in the largest stride, must fit in the last bin: an object as large as the image.
  assert.equal(resolveDetectorConfig({ labels: ['a'], inputHeight: 640, inputWidth: 640 }).boxBins, 11);
  assert.equal(resolveDetectorConfig({ labels: ['a'], inputHeight: 320, inputWidth: 320, strides: [8, 16] }).boxBins, 11);
  assert.equal(resolveDetectorConfig({ labels: ['a'], inputHeight: 640, inputWidth: 640, boxBins: 4 }).boxBins, 4, 'given bins are kept');
  for (const bad of [1, 2.5, 33, -1]) {
    assert.throws(() => resolveDetectorConfig({ labels: ['a'], boxBins: bad }), (e: unknown) => isKestrelError(e) && /boxBins/.test(e.message) && e.message.includes(String(bad)));
  }
});

// Training really learns: a tiny detector repeating a few steps on one batch of the synthetic
// factory set lowers its loss, and the assignment gives every object anchor points.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { selectBackend } from '@kestrel/trainer/backend/select';
import { anchorPoints, buildDetector } from '@kestrel/trainer/model/build';
import { resolveDetectorConfig } from '@kestrel/trainer/model/config';
import { anchorSet, assignAtss } from '@kestrel/trainer/model/assign';
import { classBalancedWeights } from '@kestrel/trainer/model/loss';
import { TrainStep } from '@kestrel/trainer/train/step';
import { learningRateAt } from '@kestrel/trainer/train/schedule';
import { renderFactoryScene, FACTORY_CLASSES } from '@kestrel/trainer/data/synth/factory';
import type { TrainBatch } from '@kestrel/trainer/data/loader';

test('ATSS gives every object, small or large, at least one anchor point inside it', () => {
  const config = resolveDetectorConfig({ labels: ['a'], inputHeight: 128, inputWidth: 128 });
  const { points, strides } = anchorPoints(config);
  const anchors = anchorSet(points, strides);
  const gts: Array<[number, number, number, number]> = [[10, 10, 16, 15], [40, 40, 120, 120], [60, 5, 90, 30]];
  const { gtIndex } = assignAtss(anchors, gts);
  gts.forEach((gt, g) => {
    const mine = [...gtIndex.keys()].filter((i) => gtIndex[i] === g);
    assert.ok(mine.length >= 1, `object ${g} has points`);
    for (const i of mine) assert.ok(points[2 * i] >= gt[0] - 4 && points[2 * i] <= gt[2] + 4 && points[2 * i + 1] >= gt[1] - 4 && points[2 * i + 1] <= gt[3] + 4);
  });
  // The large object learns on the coarse levels, the 6-pixel one on the finest.
  const levelsOf = (g: number): number[] => [...new Set([...gtIndex.keys()].filter((i) => gtIndex[i] === g).map((i) => strides[i]))];
  assert.deepEqual(levelsOf(0), [8]);
  assert.ok(Math.max(...levelsOf(1)) >= 16);
});

test('class weights lift rare classes, within bounds', () => {
  const w = classBalancedWeights([1000, 100, 10, 0]);
  assert.ok(w[1] > w[0] && w[2] > w[1]);
  assert.ok(w[2] <= 4 && w[0] >= 0.25);
  assert.equal(w[3], 1);
});

test('the learning rate warms up linearly, then follows a cosine to its floor', () => {
  const s = { lr: 0.01, totalSteps: 100, warmupSteps: 10, finalFraction: 0.05, warmupStartFraction: 0.1 };
  assert.equal(learningRateAt(s, 0), 0.001);
  assert.ok(Math.abs(learningRateAt(s, 10) - 0.01) < 1e-12);
  assert.ok(Math.abs(learningRateAt(s, 55) - 0.01 * (0.05 + 0.95 * 0.5)) < 1e-12);
  assert.ok(Math.abs(learningRateAt(s, 100) - 0.0005) < 1e-12);
});

test('a few training steps on one batch lower the detection loss', async () => {
  await selectBackend();
  const size = 96;
  const config = resolveDetectorConfig({ labels: [...FACTORY_CLASSES], inputHeight: size, inputWidth: size, width: 0.25 });
  const model = buildDetector(config, 7);
  const scenes = [0, 1, 2, 3].map((i) => renderFactoryScene(4, i, size));
  const batch: TrainBatch = {
    images: Float32Array.from(scenes.flatMap((s) => Array.from(s.data, (v) => v / 255))),
    size,
    count: scenes.length,
    boxes: scenes.map((s) => s.boxes),
  };
  const step = new TrainStep(model, tf.train.adam(3e-3), config.labels.map(() => 1));
  const losses: number[] = [];
  for (let i = 0; i < 12; i++) losses.push(step.run(batch, 3e-3).total);
  step.dispose();
  const first = (losses[0] + losses[1] + losses[2]) / 3;
  const last = (losses[9] + losses[10] + losses[11]) / 3;
  assert.ok(losses.every(Number.isFinite));
  assert.ok(last < first * 0.9, `loss fell from ${first.toFixed(3)} to ${last.toFixed(3)}`);
  model.net.dispose();
});

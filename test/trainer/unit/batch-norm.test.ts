// The training BatchNorm's hand-written gradient against autodiff through tf.moments + tf.batchNorm.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { selectBackend } from '@kestrel/trainer/backend/select';
import { batchNormTraining, FastBatchNormalization } from '@kestrel/trainer/model/batch-norm';

function maxAbsDiff(a: tf.Tensor, b: tf.Tensor): number {
  return tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]);
}

test('the closed-form BatchNorm gradient equals autodiff of the textbook formula', async () => {
  await selectBackend();
  tf.tidy(() => {
    const x = tf.randomNormal([3, 5, 4, 6], 2, 3, 'float32', 1);
    const gamma = tf.randomUniform([6], 0.5, 1.5, 'float32', 2);
    const beta = tf.randomNormal([6], 0, 1, 'float32', 3);
    const r = tf.randomNormal([3, 5, 4, 6], 0, 1, 'float32', 4);
    const eps = 1e-3;
    let stats: number[][] = [];
    const ours = (xi: tf.Tensor, g: tf.Tensor, b: tf.Tensor): tf.Tensor => tf.sum(tf.mul(batchNormTraining(xi, g, b, eps, (m, v) => (stats = [Array.from(m.dataSync()), Array.from(v.dataSync())])), r));
    const reference = (xi: tf.Tensor, g: tf.Tensor, b: tf.Tensor): tf.Tensor => {
      const { mean, variance } = tf.moments(xi, [0, 1, 2]);
      return tf.sum(tf.mul(tf.batchNorm(xi, mean, variance, b, g, eps), r));
    };
    const got = tf.grads(ours)([x, gamma, beta]);
    const want = tf.grads(reference)([x, gamma, beta]);
    ['dx', 'dgamma', 'dbeta'].forEach((name, i) => assert.ok(maxAbsDiff(got[i], want[i]) < 1e-4, `${name} differs by ${maxAbsDiff(got[i], want[i])}`));
    assert.ok(maxAbsDiff(ours(x, gamma, beta), reference(x, gamma, beta)) < 1e-3);
    const { mean, variance } = tf.moments(x, [0, 1, 2]);
    stats[0].forEach((m, c) => assert.ok(Math.abs(m - mean.dataSync()[c]) < 1e-4));
    stats[1].forEach((v, c) => assert.ok(Math.abs(v - variance.dataSync()[c]) < 1e-3));
  });
});

test('the fast layer serialises as a standard BatchNormalization and updates its running statistics', async () => {
  await selectBackend();
  const layer = new FastBatchNormalization({ name: 'bn', momentum: 0.5, epsilon: 1e-3 } as never);
  const x = tf.tensor4d([1, 3, 5, 7], [2, 1, 1, 2]);
  layer.apply(x, { training: true });
  const [, , movingMean, movingVar] = layer.getWeights().map((w) => Array.from(w.dataSync()));
  // Channels hold (1, 5) and (3, 7): batch means 3 and 5, variances 4 and 4. At momentum 0.5 the
  // running mean moves halfway from 0 and the running variance halfway from 1.
  assert.deepEqual(movingMean, [1.5, 2.5]);
  assert.deepEqual(movingVar.map((v) => Math.round(v * 1000) / 1000), [2.5, 2.5]);
  assert.equal(layer.getClassName(), 'BatchNormalization');
});

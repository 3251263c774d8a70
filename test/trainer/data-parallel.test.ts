// Data-parallel training: a replica thread makes the same share of a batch and computes the same
// gradients as the trainer's own thread would, so averaging shares is training on the whole batch;
// a run with two threads trains, records its thread count, and a failing replica stops the run
// with an error that names it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { readFileSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs';
import { selectBackend } from '@kestrel/trainer/backend/select';
import { synthFactoryDataset } from '@kestrel/trainer/data/synth/factory';
import { loadDataset } from '@kestrel/trainer/data/dataset';
import { SampleCache, TrainBatches, type TrainBatchOptions } from '@kestrel/trainer/data/loader';
import { DEFAULT_AUGMENT } from '@kestrel/trainer/data/augment/pipeline';
import { buildDetector } from '@kestrel/trainer/model/build';
import { resolveDetectorConfig } from '@kestrel/trainer/model/config';
import { TrainStep } from '@kestrel/trainer/train/step';
import { ReplicaPool, splitShares } from '@kestrel/trainer/train/replica/pool';
import { train, trainingThreads } from '@kestrel/trainer/train/trainer';
import { silentLogger } from '@kestrel/core/util/log';
import { tempDir } from './support/tmp.js';

test('a batch splits into near-equal shares that cover it once', () => {
  assert.deepEqual(splitShares(16, 2), [{ from: 0, to: 8 }, { from: 8, to: 16 }]);
  assert.deepEqual(splitShares(7, 3), [{ from: 0, to: 3 }, { from: 3, to: 5 }, { from: 5, to: 7 }]);
  assert.equal(trainingThreads({ threads: 3, batch: 2 }, 'wasm'), 2, 'never more threads than images');
  assert.equal(trainingThreads({ threads: undefined, batch: 16 }, 'tensorflow'), 1, 'native TensorFlow threads inside ops');
  assert.ok(trainingThreads({ threads: undefined, batch: 16 }, 'wasm') >= 1);
});

test('a replica makes the same share of a batch and computes the same gradients as the trainer thread', async () => {
  const dir = tempDir();
  await synthFactoryDataset(join(dir, 'ds'), { count: 8, seed: 5, size: 96 });
  const backend = await selectBackend();
  const ds = loadDataset(join(dir, 'ds'));
  const config = resolveDetectorConfig({ labels: ds.classes, inputHeight: 64, inputWidth: 64, width: 0.25 });
  const options: TrainBatchOptions = { size: 96, crop: 64, batch: 4, augment: { ...DEFAULT_AUGMENT, mosaic: 0.5 }, seed: 2 };
  const weights = ds.classes.map(() => 1);
  const pool = await ReplicaPool.start(1, { backend: backend.choice, items: ds.items, cacheSide: 96, batches: options, detector: config, classWeights: weights, temperature: 1 });
  try {
    const model = buildDetector(config, 3);
    const step = new TrainStep(model, tf.train.adam(1e-3), weights);
    const batches = new TrainBatches(ds.items, new SampleCache(96), options);
    const share = { from: 2, to: 4 };
    const vars = step.variables();
    const [remote] = await pool.gradients(1, 1, options.augment, [share], vars.map((v) => v.dataSync() as Float32Array));
    const local = step.gradients(await batches.batch(1, 1, options.augment, share));
    assert.equal(remote.images, 2);
    assert.equal(remote.losses.positives, local.losses.positives, 'same boxes, same assignment');
    assert.ok(Math.abs(remote.losses.total - local.losses.total) < 1e-5, `loss ${remote.losses.total} vs ${local.losses.total}`);
    let worst = 0;
    local.grads.forEach((g, i) => {
      const mine = g.dataSync();
      for (let k = 0; k < mine.length; k++) worst = Math.max(worst, Math.abs(mine[k] - remote.grads[i][k]));
    });
    assert.ok(worst < 1e-5, `largest gradient difference ${worst}`);
    // A different share is different pictures: the comparison above can fail.
    const other = step.gradients(await batches.batch(1, 1, options.augment, { from: 0, to: 2 }));
    assert.notEqual(other.losses.total, local.losses.total);
    tf.dispose([...local.grads, ...other.grads]);
    step.dispose();
    model.net.dispose();
  } finally {
    await pool.stop();
  }
});

test('a run on two threads learns and records them; a broken replica stops the run with an error naming it', async () => {
  const dir = tempDir();
  await synthFactoryDataset(join(dir, 'ds'), { count: 16, seed: 3, size: 96 });
  const tiny = { data: join(dir, 'ds'), batch: 4, imgsz: 96, width: 0.25, valBatch: 4, logger: silentLogger, progress: false, project: join(dir, 'runs') } as const;
  const r = await train({ ...tiny, epochs: 2, threads: 2, name: 'two' });
  const rows = JSON.parse(readFileSync(join(r.runDir, 'results.json'), 'utf8')) as Array<{ trainLoss: number }>;
  assert.equal(rows.length, 2);
  assert.ok(rows.every((row) => Number.isFinite(row.trainLoss) && row.trainLoss > 0));
  assert.equal(JSON.parse(readFileSync(join(r.runDir, 'args.json'), 'utf8')).threads, 2);

  // The replicas load their images themselves: one that cannot read an image fails the step.
  const ds = loadDataset(join(dir, 'ds'));
  const backend = await selectBackend();
  const config = resolveDetectorConfig({ labels: ds.classes, inputHeight: 96, inputWidth: 96, width: 0.25 });
  const broken = ds.items.map((it) => ({ ...it, imagePath: join(dir, 'missing', it.id) }));
  const pool = await ReplicaPool.start(1, { backend: backend.choice, items: broken, cacheSide: 96, batches: { size: 96, batch: 4, augment: DEFAULT_AUGMENT, seed: 0 }, detector: config, classWeights: ds.classes.map(() => 1), temperature: 1 });
  try {
    const model = buildDetector(config);
    const step = new TrainStep(model, tf.train.adam(1e-3), ds.classes.map(() => 1));
    await assert.rejects(pool.gradients(0, 0, DEFAULT_AUGMENT, [{ from: 0, to: 2 }], step.variables().map((v) => v.dataSync() as Float32Array)), /training replica 1 failed: cannot read training image .*missing/);
    step.dispose();
    model.net.dispose();
  } finally {
    await pool.stop();
  }
});

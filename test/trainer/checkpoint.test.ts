// Checkpoints round-trip exactly, and fine-tuning for new classes keeps everything but the class
// outputs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { selectBackend } from '@kestrel/trainer/backend/select';
import { buildDetector } from '@kestrel/trainer/model/build';
import { resolveDetectorConfig } from '@kestrel/trainer/model/config';
import { loadCheckpoint, readWeights, saveCheckpoint } from '@kestrel/trainer/model/checkpoint';
import { runModel } from '@kestrel/trainer/model/predict';
import { tempDir } from './support/tmp.js';

test('a saved checkpoint loads back to the same outputs and state', async () => {
  await selectBackend();
  const m = buildDetector(resolveDetectorConfig({ labels: ['a', 'b'], inputHeight: 64, inputWidth: 64, width: 0.25 }), 3);
  const dir = join(tempDir(), 'ckpt');
  const optimizer = tf.train.adam(1e-3);
  await saveCheckpoint(dir, m, { epoch: 2, step: 20, bestFitness: 0.4, bestEpoch: 1 }, optimizer);
  const loaded = await loadCheckpoint(dir);
  assert.deepEqual(loaded.file.state, { epoch: 2, step: 20, bestFitness: 0.4, bestEpoch: 1 });
  assert.deepEqual(loaded.file.config, m.config);
  assert.deepEqual(loaded.reinitialised, []);
  const x = Float32Array.from({ length: 64 * 64 * 3 }, (_, i) => (i % 17) / 17);
  const a = runModel(m, x, 1), b = runModel(loaded.model, x, 1);
  assert.deepEqual(a.scores, b.scores);
  assert.deepEqual(a.boxes, b.boxes);
  m.net.dispose();
  loaded.model.net.dispose();
});

test('a checkpoint saved before box bins existed (no boxBins in kestrel.json) loads with one value per side', async () => {
  await selectBackend();
  const m = buildDetector(resolveDetectorConfig({ labels: ['a'], inputHeight: 64, inputWidth: 64, width: 0.25, boxBins: 0 }), 4);
  const dir = join(tempDir(), 'ckpt');
  await saveCheckpoint(dir, m, { epoch: 0, step: 0, bestFitness: 0, bestEpoch: 0 });
  const { readFileSync, writeFileSync } = await import('node:fs');
  const file = JSON.parse(readFileSync(join(dir, 'kestrel.json'), 'utf8'));
  delete file.config.boxBins;
  writeFileSync(join(dir, 'kestrel.json'), JSON.stringify(file));
  const loaded = await loadCheckpoint(dir);
  assert.equal(loaded.model.config.boxBins, 0);
  assert.deepEqual(loaded.reinitialised, [], 'every weight fits, the 4-channel box outputs included');
  const x = Float32Array.from({ length: 64 * 64 * 3 }, (_, i) => (i % 13) / 13);
  assert.deepEqual(runModel(loaded.model, x, 1).boxes, runModel(m, x, 1).boxes);
  m.net.dispose();
  loaded.model.net.dispose();
});

test('the checkpoint is a standard TF.js LayersModel (tf.loadLayersModel reads it)', async () => {
  await selectBackend();
  const m = buildDetector(resolveDetectorConfig({ labels: ['a'], inputHeight: 64, inputWidth: 64, width: 0.25 }), 1);
  const dir = join(tempDir(), 'ckpt');
  await saveCheckpoint(dir, m, { epoch: 0, step: 0, bestFitness: 0, bestEpoch: 0 });
  const { readFileSync } = await import('node:fs');
  const json = JSON.parse(readFileSync(join(dir, 'model.json'), 'utf8'));
  const bin = readFileSync(join(dir, 'weights.bin'));
  const net = await tf.loadLayersModel(tf.io.fromMemory({ modelTopology: json.modelTopology, weightSpecs: json.weightsManifest[0].weights, weightData: bin.buffer.slice(bin.byteOffset, bin.byteOffset + bin.length) }));
  assert.equal(net.countParams(), m.net.countParams());
  net.dispose();
  m.net.dispose();
});

test('fine-tuning for new classes re-initialises only the class outputs', async () => {
  await selectBackend();
  const m = buildDetector(resolveDetectorConfig({ labels: ['person', 'car'], inputHeight: 64, inputWidth: 64, width: 0.25 }), 2);
  const dir = join(tempDir(), 'ckpt');
  await saveCheckpoint(dir, m, { epoch: 9, step: 90, bestFitness: 0.6, bestEpoch: 9 });
  const saved = readWeights(dir);
  const tuned = await loadCheckpoint(dir, { labels: ['scratch', 'dent', 'rust'] });
  assert.deepEqual(tuned.model.config.labels, ['scratch', 'dent', 'rust']);
  assert.deepEqual(tuned.reinitialised.sort(), ['h16_cls/bias', 'h16_cls/kernel', 'h32_cls/bias', 'h32_cls/kernel', 'h8_cls/bias', 'h8_cls/kernel']);
  for (const w of tuned.model.net.weights) {
    if (w.originalName.includes('_cls/')) continue;
    assert.deepEqual(w.read().dataSync(), saved[w.originalName].dataSync(), `${w.originalName} carried over`);
  }
  m.net.dispose();
  tuned.model.net.dispose();
});

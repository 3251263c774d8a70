// `kestrel train --from model.onnx`: a fleet keeps exported models, not training runs. The exported
// network (BatchNorm folded into its convs) is rebuilt in TF.js with the same outputs, its
// BatchNorms measured again on the new data, and fine-tuned like a checkpoint.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { writeFileSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs';
import { silentLogger } from '@kestrel/core/util/log';
import { BUNDLED_MODEL_PATH } from '@kestrel/core/model/bundled';
import { selectBackend } from '@kestrel/trainer/backend/select';
import { buildDetector, type KestrelModel } from '@kestrel/trainer/model/build';
import { resolveDetectorConfig, type DetectorConfig } from '@kestrel/trainer/model/config';
import { saveCheckpoint, readCheckpointFile } from '@kestrel/trainer/model/checkpoint';
import { loadOnnxDetector, recalibrateBatchNorm } from '@kestrel/trainer/model/onnx-import';
import { runModel } from '@kestrel/trainer/model/predict';
import { exportCheckpoint } from '@kestrel/trainer/export/export-onnx';
import { synthFactoryDataset } from '@kestrel/trainer/data/synth/factory';
import { readManifest } from '@kestrel/trainer/data/dataset';
import { train } from '@kestrel/trainer/train/trainer';
import { readModel, writeModel } from '@kestrel/core/onnx/io';
import { readMetadata, writeMetadata } from '@kestrel/core/model/metadata';
import { tempDir } from './support/tmp.js';

/** Non-trivial BatchNorm statistics, so folding and unfolding are really tested. */
function scrambled(config: Partial<DetectorConfig> & { labels: string[] }, seed: number): KestrelModel {
  const m = buildDetector(resolveDetectorConfig(config), seed);
  tf.tidy(() => {
    for (const l of m.net.layers) {
      if (l.name.endsWith('_bn')) l.setWeights(l.getWeights().map((w, i) => tf.add(i === 3 ? 0.5 : i === 0 ? 0.75 : 0, tf.mul(tf.randomUniform(w.shape, 0, 1, 'float32', seed + i), 0.5))));
    }
  });
  return m;
}

function maxDiff(a: Float32Array, b: Float32Array): number {
  assert.equal(a.length, b.length);
  return a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i])), 0);
}

async function exported(dir: string, m: KestrelModel): Promise<string> {
  const checkpoint = join(dir, 'ckpt');
  await saveCheckpoint(checkpoint, m, { epoch: 0, step: 1, bestFitness: 0, bestEpoch: 0 });
  const out = join(dir, 'model.onnx');
  await exportCheckpoint({ checkpoint, output: out });
  return out;
}

for (const [name, config] of [
  ['plain convs', { labels: ['a', 'b', 'c'], inputHeight: 96, inputWidth: 96, width: 0.25 }],
  ['depthwise-separable, strides 8/16', { labels: ['x', 'y'], inputHeight: 64, inputWidth: 64, width: 0.25, block: 'dws' as const, strides: [8, 16] }],
] as const) {
  test(`an exported model rebuilt from its ONNX computes what the checkpoint computed (${name}), before and after BatchNorm recalibration`, async () => {
    await selectBackend();
    const dir = tempDir();
    const m = scrambled({ ...config, strides: 'strides' in config ? [...config.strides] : undefined } as never, 7);
    const onnxPath = await exported(dir, m);
    const { model, reinitialised, labels } = loadOnnxDetector(onnxPath);
    assert.deepEqual(reinitialised, []);
    assert.deepEqual(labels, config.labels);
    assert.deepEqual(model.config, m.config, 'architecture from kestrel.architecture, labels and size from the metadata');
    const { inputHeight: H, inputWidth: W } = m.config;
    const x = Float32Array.from({ length: H * W * 3 }, (_, i) => ((i * 7919) % 251) / 250);
    const want = runModel(m, x, 1);
    const got = runModel(model, x, 1);
    assert.ok(maxDiff(want.scores, got.scores) <= 1e-4, `scores differ by ${maxDiff(want.scores, got.scores)}`);
    assert.ok(maxDiff(want.boxes, got.boxes) <= 1e-4, `boxes differ by ${maxDiff(want.boxes, got.boxes)}`);

    // Recalibrated on a batch: inference is unchanged, and training-mode BatchNorm (batch
    // statistics) now gives the same outputs on that batch instead of rescaling every channel.
    const batch = tf.randomUniform([4, H, W, 3], 0, 1, 'float32', 3) as tf.Tensor4D;
    const trainingBefore = (model.net.apply(batch, { training: true }) as tf.Tensor[]).map((t) => t.dataSync() as Float32Array);
    const inference = (model.net.predict(batch) as tf.Tensor[]).map((t) => t.dataSync() as Float32Array);
    const before = Math.max(...inference.map((v, i) => maxDiff(v, trainingBefore[i])));
    assert.ok(recalibrateBatchNorm(model, batch) > 0);
    const after = runModel(model, x, 1);
    assert.ok(maxDiff(want.scores, after.scores) <= 1e-4, `recalibration changed inference by ${maxDiff(want.scores, after.scores)}`);
    const training = (model.net.apply(batch, { training: true }) as tf.Tensor[]).map((t) => t.dataSync() as Float32Array);
    const diff = Math.max(...inference.map((v, i) => maxDiff(v, training[i])));
    // Not exact: each layer is measured on inputs from the layers before it in inference mode.
    assert.ok(diff < before / 10, `training mode differs from inference by ${diff} after recalibration (${before} before)`);
    batch.dispose();
    m.net.dispose();
    model.net.dispose();
  });
}

test('train --from model.onnx fine-tunes an exported model for other classes, keeping its architecture', async () => {
  const dir = tempDir();
  const tiny = { batch: 4, imgsz: 96, valBatch: 4, logger: silentLogger, progress: false } as const;
  await synthFactoryDataset(join(dir, 'ds'), { count: 12, seed: 4, size: 96 });
  const base = await train({ ...tiny, width: 0.25, data: join(dir, 'ds'), epochs: 1, project: join(dir, 'runs'), name: 'base' });
  const onnxPath = join(dir, 'base.onnx');
  await exportCheckpoint({ checkpoint: base.best, output: onnxPath });
  const manifest = readManifest(join(dir, 'ds'));
  writeFileSync(join(dir, 'ds', 'dataset.json'), JSON.stringify({ ...manifest, classes: ['widget', 'scuff', 'c2', 'c3', 'c4', 'c5'] }));
  // No --width: it comes from the exported model, as from a checkpoint.
  const tuned = await train({ ...tiny, data: join(dir, 'ds'), from: onnxPath, epochs: 1, cropSize: 64, project: join(dir, 'runs'), name: 'tuned' });
  const file = readCheckpointFile(tuned.best);
  assert.deepEqual(file.config.labels, ['widget', 'scuff', 'c2', 'c3', 'c4', 'c5']);
  assert.equal(file.config.width, 0.25);
  assert.ok(Number.isFinite(tuned.metrics.map50));
});

test('--from an ONNX model whose graph the trainer cannot rebuild, or that is missing, says so', async () => {
  const dir = tempDir();
  await synthFactoryDataset(join(dir, 'ds'), { count: 4, seed: 1, size: 96 });
  const opts = { data: join(dir, 'ds'), imgsz: 96, epochs: 1, batch: 2, logger: silentLogger, progress: false, project: join(dir, 'runs') };
  // NanoDet with one activation swapped for an op the rebuild lacks: the error names node and op.
  const proto = await readModel(BUNDLED_MODEL_PATH);
  const relu = proto.graph!.node!.find((n) => n.opType === 'LeakyRelu')!;
  relu.opType = 'Elu';
  relu.attribute = [];
  await writeModel(proto, join(dir, 'elu.onnx'));
  await assert.rejects(train({ ...opts, from: join(dir, 'elu.onnx'), name: 'a' }), (err: Error) => {
    assert.match(err.message, /elu\.onnx: node "[^"]+" is a Elu, which the trainer cannot rebuild/);
    assert.match(err.message, /Conv, LeakyRelu, Relu, MaxPool/);
    return true;
  });
  // A model whose metadata names a decoder whose head the trainer does not rebuild (YOLOv8).
  const yolo = await readModel(BUNDLED_MODEL_PATH);
  writeMetadata(yolo, { ...readMetadata(yolo), decoder: 'yolov8' });
  await writeModel(yolo, join(dir, 'yolo.onnx'));
  await assert.rejects(train({ ...opts, from: join(dir, 'yolo.onnx'), name: 'y' }), /yolo\.onnx: decoder yolov8 is not one whose head the trainer rebuilds.*NanoDet-style graphs only/);
  await assert.rejects(train({ ...opts, from: join(dir, 'missing.onnx'), name: 'b' }), /cannot read .*missing\.onnx: ENOENT/);
  writeFileSync(join(dir, 'junk.onnx'), 'not a model');
  await assert.rejects(train({ ...opts, from: join(dir, 'junk.onnx'), name: 'c' }), /junk\.onnx/);
});

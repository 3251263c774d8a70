// The exported ONNX model computes what the TF.js model computes (≤ 1e-4), carries the full
// kestrel.* metadata, and runs through the agent's own Detector and kestrel decoder with the
// same detections as the checkpoint.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import ort from 'onnxruntime-node';
import { readModel, encodeModel } from '@kestrel/core/onnx/io';
import { readMetadata } from '@kestrel/core/model/metadata';
import { Detector } from '@kestrel/core/detect/detector';
import { selectBackend } from '@kestrel/trainer/backend/select';
import { buildDetector, type KestrelModel } from '@kestrel/trainer/model/build';
import { resolveDetectorConfig, type DetectorConfig } from '@kestrel/trainer/model/config';
import { saveCheckpoint } from '@kestrel/trainer/model/checkpoint';
import { runModel } from '@kestrel/trainer/model/predict';
import { buildOnnx, exportCheckpoint } from '@kestrel/trainer/export/export-onnx';
import { synthFactoryDataset } from '@kestrel/trainer/data/synth/factory';
import { loadDataset } from '@kestrel/trainer/data/dataset';
import { CheckpointPredictor, OnnxPredictor } from '@kestrel/trainer/eval/predictors';
import { tempDir } from './support/tmp.js';

/** A model with non-trivial BatchNorm statistics and head biases, so folding is really tested. */
function scrambled(config: Partial<DetectorConfig> & { labels: string[] }, seed: number): KestrelModel {
  const m = buildDetector(resolveDetectorConfig(config), seed);
  tf.tidy(() => {
    for (const l of m.net.layers) {
      if (l.name.endsWith('_bn')) l.setWeights(l.getWeights().map((w, i) => tf.add(i === 3 ? 0.5 : i === 0 ? 0.75 : 0, tf.mul(tf.randomUniform(w.shape, 0, 1, 'float32', seed + i), 0.5))));
      if (l.name.endsWith('_cls')) l.setWeights([l.getWeights()[0], tf.fill(l.getWeights()[1].shape, -1)]);
    }
  });
  return m;
}

function toNchw(nhwc: Float32Array, h: number, w: number): Float32Array {
  const out = new Float32Array(nhwc.length);
  for (let c = 0; c < 3; c++) for (let p = 0; p < h * w; p++) out[c * h * w + p] = nhwc[p * 3 + c];
  return out;
}

function maxDiff(a: Float32Array, b: Float32Array): number {
  assert.equal(a.length, b.length);
  return a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i])), 0);
}

for (const [name, config] of [
  ['plain convs, square 96', { labels: ['a', 'b', 'c'], inputHeight: 96, inputWidth: 96, width: 0.25 }],
  ['depthwise-separable, 64x128, strides 8/16', { labels: ['x', 'y'], inputHeight: 64, inputWidth: 128, width: 0.25, block: 'dws' as const, strides: [8, 16] }],
  ['one softplus value per box side (boxBins 0, as models made before bins)', { labels: ['a', 'b'], inputHeight: 64, inputWidth: 64, width: 0.25, boxBins: 0 }],
] as const) {
  test(`ONNX Runtime matches TF.js within 1e-4: ${name}`, async () => {
    await selectBackend();
    const m = scrambled({ ...config, strides: 'strides' in config ? [...config.strides] : undefined } as never, 11);
    const { inputHeight: H, inputWidth: W } = m.config;
    const x = Float32Array.from({ length: H * W * 3 }, (_, i) => ((i * 7919) % 251) / 250);
    const want = runModel(m, x, 1);
    const session = await ort.InferenceSession.create(encodeModel(buildOnnx(m)));
    const got = await session.run({ input: new ort.Tensor('float32', toNchw(x, H, W), [1, 3, H, W]) });
    assert.ok(maxDiff(want.scores, got.scores.data as Float32Array) <= 1e-4, `scores differ by ${maxDiff(want.scores, got.scores.data as Float32Array)}`);
    assert.ok(maxDiff(want.boxes, got.boxes.data as Float32Array) <= 1e-4, `boxes differ by ${maxDiff(want.boxes, got.boxes.data as Float32Array)}`);
    const n = (H / 8) * (W / 8) + (H / 16) * (W / 16) + (m.config.strides.includes(32) ? (H / 32) * (W / 32) : 0);
    assert.deepEqual(got.scores.dims, [1, n, m.config.labels.length]);
    assert.deepEqual(got.boxes.dims, [1, n, 4]);
    await session.release();
    m.net.dispose();
  });
}

test('kestrel export writes full metadata, and the agent Detector finds what the checkpoint finds', async () => {
  await selectBackend();
  const dir = tempDir();
  await synthFactoryDataset(join(dir, 'ds'), { count: 3, seed: 2, size: 128 });
  const ds = loadDataset(join(dir, 'ds'));
  const m = scrambled({ labels: ds.classes, inputHeight: 128, inputWidth: 128, width: 0.25 }, 5);
  const checkpoint = join(dir, 'ckpt');
  await saveCheckpoint(checkpoint, m, { epoch: 4, step: 40, bestFitness: 0.5, bestEpoch: 4, datasetHash: 'sha256:abc', metrics: { map50: 0.9 } });
  const out = join(dir, 'model.onnx');
  const report = await exportCheckpoint({ checkpoint, output: out, name: 'factory', version: '1.2.3' });
  const meta = readMetadata(await readModel(out));
  assert.equal(meta.decoder, 'kestrel');
  assert.deepEqual(meta.labels, ds.classes);
  assert.deepEqual(meta.strides, [8, 16, 32]);
  assert.deepEqual(meta.input, { width: 128, height: 128, layout: 'NCHW', colour: 'RGB', mean: [0, 0, 0], std: [255, 255, 255], letterbox: true, padValue: 114 });
  assert.equal(meta.trainedFrom, 'sha256:abc');
  assert.equal(meta.version, '1.2.3');
  assert.equal(meta.name, 'factory');
  assert.deepEqual(meta.eval, { split: 'val', map50: 0.9, epoch: 5 });
  assert.equal(report.anchors, 16 * 16 + 8 * 8 + 4 * 4);
  // Without an output it goes beside the checkpoint, as best.onnx beside best.pt in Ultralytics.
  const beside = await exportCheckpoint({ checkpoint });
  assert.equal(beside.output, `${checkpoint}.onnx`);
  assert.deepEqual(readMetadata(await readModel(beside.output)).labels, ds.classes);

  const detector = await Detector.load(out);
  const fromCheckpoint = new CheckpointPredictor(m, 2);
  const post = { scoreThreshold: 0.3, iouThreshold: 0.5, maxDetections: 50 };
  let compared = 0;
  const onnx = await OnnxPredictor.load(out);
  const ours = new Map<string, unknown>();
  for await (const r of fromCheckpoint.predict(ds.items, post)) ours.set(r.item.id, r.detections);
  for await (const r of onnx.predict(ds.items, post)) {
    const want = ours.get(r.item.id) as typeof r.detections;
    assert.equal(r.detections.length, want.length, `${r.item.id}: same number of detections`);
    r.detections.forEach((d, i) => {
      assert.equal(d.label, want[i].label);
      assert.ok(Math.abs(d.score - want[i].score) < 1e-4);
      d.box.forEach((v, k) => assert.ok(Math.abs(v - want[i].box[k]) < 1e-2));
    });
    compared += r.detections.length;
  }
  assert.ok(compared > 0, 'the scrambled model detects something to compare');
  await onnx.close();
  await detector.close();
  m.net.dispose();
});

// `kestrel train --from models/nanodet-416.onnx`: the imported NanoDet's graph rebuilt in TF.js
// with its ONNX weights computes what ONNX Runtime computes; a new class list re-initialises only
// the class head; a few steps of fine-tuning lower the loss; and the result exports to an ONNX
// model the agent's Detector runs with the kestrel decoder.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import ort from 'onnxruntime-node';
import { silentLogger } from '@kestrel/core/util/log';
import { BUNDLED_MODEL_PATH } from '@kestrel/core/model/bundled';
import { readModel } from '@kestrel/core/onnx/io';
import { readMetadata } from '@kestrel/core/model/metadata';
import { rgbToTensor } from '@kestrel/core/image/preprocess';
import { Detector } from '@kestrel/core/detect/detector';
import { selectBackend } from '@kestrel/trainer/backend/select';
import { forward } from '@kestrel/trainer/model/build';
import { CLASS_BIAS_INIT } from '@kestrel/trainer/model/spec';
import { loadOnnxDetector } from '@kestrel/trainer/model/onnx-import';
import { readCheckpointFile, loadCheckpoint } from '@kestrel/trainer/model/checkpoint';
import { TrainStep } from '@kestrel/trainer/train/step';
import { runModel } from '@kestrel/trainer/model/predict';
import { exportCheckpoint } from '@kestrel/trainer/export/export-onnx';
import { synthFactoryDataset, FACTORY_CLASSES, renderFactoryScene } from '@kestrel/trainer/data/synth/factory';
import { CheckpointPredictor, OnnxPredictor } from '@kestrel/trainer/eval/predictors';
import { loadDataset } from '@kestrel/trainer/data/dataset';
import { train } from '@kestrel/trainer/train/trainer';
import { tempDir } from './support/tmp.js';

function maxDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

/** A picture with structure (gradients and blocks), not noise: scores then spread over a real range. */
function testPicture(w: number, h: number): Uint8Array {
  const rgb = new Uint8Array(w * h * 3);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const i = (y * w + x) * 3;
      const block = ((x >> 5) + (y >> 5)) % 3;
      rgb[i] = (x * 255) / w;
      rgb[i + 1] = block === 0 ? 200 : (y * 255) / h;
      rgb[i + 2] = block === 2 ? 30 : 128;
    }
  }
  return rgb;
}

test('the rebuilt NanoDet computes what ONNX Runtime computes on models/nanodet-416.onnx', async (t) => {
  await selectBackend();
  const meta = readMetadata(await readModel(BUNDLED_MODEL_PATH));
  const { model, reinitialised } = loadOnnxDetector(BUNDLED_MODEL_PATH);
  assert.deepEqual(reinitialised, [], 'same classes: every weight comes from the ONNX model');
  assert.equal(model.config.network?.family, 'nanodet');
  assert.equal(model.config.boxBins, 11);
  assert.deepEqual(model.config.strides, [8, 16, 32]);
  const { width: W, height: H } = meta.input;
  assert.equal(model.config.inputWidth, W);
  const rgb = testPicture(W, H);

  const session = await ort.InferenceSession.create(BUNDLED_MODEL_PATH);
  const result = await session.run({ input: new ort.Tensor('float32', rgbToTensor(rgb, meta.input), [1, 3, H, W]) });
  const wantScores = [8, 16, 32].flatMap((s) => Array.from(result[`scores_${s}`].data as Float32Array));
  const wantBoxes = [8, 16, 32].flatMap((s) => Array.from(result[`boxes_${s}`].data as Float32Array));
  await session.release();

  const { scores, sideLogits } = tf.tidy(() => {
    const out = forward(model, tf.tensor4d(Float32Array.from(rgb, (v) => v / 255), [1, H, W, 3]), false);
    return { scores: tf.sigmoid(out.logits).dataSync() as Float32Array, sideLogits: out.sideLogits!.dataSync() as Float32Array };
  });
  const top = wantScores.reduce((m, v) => Math.max(m, v), 0);
  assert.ok(top > 0.05, `the picture gives real scores to compare (top ${top})`);
  const dScores = maxDiff(scores, wantScores);
  const dBoxes = maxDiff(sideLogits, wantBoxes);
  t.diagnostic(`max |Δ| scores ${dScores.toExponential(2)}, box bin logits ${dBoxes.toExponential(2)} (top score ${top.toFixed(3)})`);
  assert.ok(dScores < 1e-3, `scores differ from ONNX Runtime's by ${dScores}`);
  assert.ok(dBoxes < 1e-2, `box bin logits differ from ONNX Runtime's by ${dBoxes}`);
  model.net.dispose();
});

test('a new class list re-initialises only the class head; backbone, neck and box head keep the ONNX weights', async () => {
  await selectBackend();
  const same = loadOnnxDetector(BUNDLED_MODEL_PATH, { inputHeight: 128, inputWidth: 128 });
  const tuned = loadOnnxDetector(BUNDLED_MODEL_PATH, { labels: [...FACTORY_CLASSES], inputHeight: 128, inputWidth: 128 });
  assert.deepEqual(tuned.reinitialised, ['h8_cls', 'h16_cls', 'h32_cls']);
  assert.deepEqual(tuned.model.config.labels, [...FACTORY_CLASSES]);
  let compared = 0;
  for (const layer of tuned.model.net.layers) {
    const values = layer.getWeights();
    if (values.length === 0) continue;
    const before = same.model.net.getLayer(layer.name).getWeights();
    if (layer.name.endsWith('_cls')) {
      assert.equal(values[0].shape[3], FACTORY_CLASSES.length);
      assert.ok(Array.from(values[1].dataSync()).every((b) => Math.abs(b - CLASS_BIAS_INIT) < 1e-6), `${layer.name}: class-prior bias`);
      continue;
    }
    values.forEach((v, i) => assert.equal(maxDiff(v.dataSync(), before[i].dataSync()), 0, `${layer.name} weight ${i} kept`));
    compared++;
  }
  assert.ok(compared >= 30, `compared ${compared} layers`);
  // The frozen input normalisation is not trained.
  assert.ok(tuned.model.net.trainableWeights.every((w) => !w.originalName.startsWith('input_norm')));
  same.model.net.dispose();
  tuned.model.net.dispose();
});

test('two fine-tuning steps on factory pictures lower the loss', async () => {
  await selectBackend();
  const size = 128;
  const { model } = loadOnnxDetector(BUNDLED_MODEL_PATH, { labels: [...FACTORY_CLASSES], inputHeight: size, inputWidth: size });
  const scenes = [0, 1].map((i) => renderFactoryScene(5, i, size));
  const images = new Float32Array(2 * size * size * 3);
  scenes.forEach((s, k) => images.set(Float32Array.from(s.data, (v) => v / 255), k * size * size * 3));
  const batch = { images, size, count: 2, boxes: scenes.map((s) => s.boxes) };
  const step = new TrainStep(model, tf.train.adam(1e-3), FACTORY_CLASSES.map(() => 1));
  const first = step.run(batch, 1e-3);
  step.run(batch, 1e-3);
  const after = step.gradients(batch);
  tf.dispose(after.grads);
  assert.ok(first.positives > 0, 'the pictures have objects');
  assert.ok(after.losses.total < first.total, `loss ${first.total} → ${after.losses.total}`);
  step.dispose();
  model.net.dispose();
});

test('train --from models/nanodet-416.onnx, then export: an ONNX model the agent runs with the kestrel decoder', async () => {
  const dir = tempDir();
  await synthFactoryDataset(join(dir, 'ds'), { count: 8, seed: 2, size: 96 });
  const run = await train({ data: join(dir, 'ds'), from: BUNDLED_MODEL_PATH, imgsz: 96, epochs: 1, batch: 4, threads: 2, valBatch: 4, logger: silentLogger, progress: false, project: join(dir, 'runs'), name: 'nanodet' });
  const file = readCheckpointFile(run.best);
  assert.deepEqual(file.config.labels, [...FACTORY_CLASSES]);
  assert.equal(file.config.network?.family, 'nanodet', 'the checkpoint keeps the rebuilt network');
  const out = join(dir, 'tuned.onnx');
  await exportCheckpoint({ checkpoint: run.best, output: out });
  const meta = readMetadata(await readModel(out));
  assert.equal(meta.decoder, 'kestrel');
  assert.deepEqual(meta.labels, [...FACTORY_CLASSES]);
  assert.deepEqual(meta.input.std, [255, 255, 255], 'the normalisation is inside the model: RGB in 0..1 as for every Kestrel detector');

  // The export computes what the checkpoint computes.
  const { model } = await loadCheckpoint(run.best);
  const x = Float32Array.from({ length: 96 * 96 * 3 }, (_, i) => ((i * 7919) % 251) / 250);
  const want = runModel(model, x, 1);
  const session = await ort.InferenceSession.create(out);
  const nchw = new Float32Array(x.length);
  for (let c = 0; c < 3; c++) for (let p = 0; p < 96 * 96; p++) nchw[c * 96 * 96 + p] = x[p * 3 + c];
  const got = await session.run({ input: new ort.Tensor('float32', nchw, [1, 3, 96, 96]) });
  await session.release();
  assert.ok(maxDiff(got.scores.data as Float32Array, want.scores) < 1e-4, 'scores');
  assert.ok(maxDiff(got.boxes.data as Float32Array, want.boxes) < 1e-2, 'boxes (pixels)');

  // The agent's Detector loads it, and the checkpoint and the ONNX model detect the same things.
  const detector = await Detector.load(out);
  await detector.close();
  const ds = loadDataset(join(dir, 'ds'));
  // A low threshold: one epoch from the class prior (0.01) leaves the scores low.
  const post = { scoreThreshold: 0.005, iouThreshold: 0.5, maxDetections: 20 };
  const ours = new Map<string, Array<{ label: string; score: number; box: number[] }>>();
  for await (const r of new CheckpointPredictor(model, 2).predict(ds.items, post)) ours.set(r.item.id, r.detections);
  const onnx = await OnnxPredictor.load(out);
  let compared = 0;
  for await (const r of onnx.predict(ds.items, post)) {
    const mine = ours.get(r.item.id)!;
    assert.equal(r.detections.length, mine.length, `${r.item.id}: same number of detections`);
    // Matched by label, score and box rather than by rank: two detections whose scores differ by
    // less than the engines' rounding may come out in either order.
    const unmatched = [...mine];
    for (const d of r.detections) {
      const at = unmatched.findIndex((m) => m.label === d.label && Math.abs(d.score - m.score) < 1e-4 && d.box.every((v, k) => Math.abs(v - m.box[k]) < 1e-2));
      assert.ok(at >= 0, `${r.item.id}: ${d.label} ${d.score} ${d.box.map((v) => v.toFixed(2))} has its twin in the checkpoint's detections`);
      unmatched.splice(at, 1);
    }
    compared += r.detections.length;
  }
  assert.ok(compared > 0, 'something detected to compare');
  await onnx.close();
  model.net.dispose();

  // And it can be fine-tuned again from the exported file (kestrel.architecture carries the network).
  const again = loadOnnxDetector(out);
  assert.equal(again.model.config.network?.family, 'nanodet');
  assert.deepEqual(again.reinitialised, []);
  again.model.net.dispose();
});

// Structured channel pruning: a smaller detector with real fewer channels, the kept weights
// copied in; exactly the same outputs when the removed channels' BatchNorm γ (and β) are zero,
// close when γ is only small; the pruned checkpoint saves, loads, exports and runs in ONNX
// Runtime with the contract's shapes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import ort from 'onnxruntime-node';
import { selectBackend } from '@kestrel/trainer/backend/select';
import { buildDetector, type KestrelModel } from '@kestrel/trainer/model/build';
import { anchorCount, resolveDetectorConfig, type DetectorConfig } from '@kestrel/trainer/model/config';
import { loadCheckpoint, saveCheckpoint } from '@kestrel/trainer/model/checkpoint';
import { runModel } from '@kestrel/trainer/model/predict';
import { exportCheckpoint } from '@kestrel/trainer/export/export-onnx';
import { detectorSpec } from '@kestrel/trainer/model/spec';
import { loadOnnxDetector } from '@kestrel/trainer/model/onnx-import';
import { keptCount, pruneDetector } from '@kestrel/trainer/prune/prune';
import { detectorCost, prunableLayers } from '@kestrel/trainer/prune/structure';
import { trainingRecipe } from '@kestrel/trainer/prune/run';
import { FACTORY_CLASSES } from '@kestrel/trainer/data/synth/factory';
import { tempDir } from './support/tmp.js';

const LABELS = [...FACTORY_CLASSES];

function detector(extra: Partial<DetectorConfig> = {}, seed = 3): KestrelModel {
  return buildDetector(resolveDetectorConfig({ labels: LABELS, inputHeight: 96, inputWidth: 96, width: 0.25, ...extra }), seed);
}

/** A deterministic pseudo-random vector (no tf seeding needed). */
function noise(n: number, seed: number, lo: number, hi: number): Float32Array {
  let s = seed >>> 0;
  return Float32Array.from({ length: n }, () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return lo + ((s >>> 8) / 2 ** 24) * (hi - lo);
  });
}

/**
 * Non-trivial BatchNorms everywhere (γ, β, running mean and variance), then in every prunable
 * layer the channels `zeroed` picks get γ = `gamma` and β = `beta`: the ones |γ| ranking removes.
 */
function withWeakChannels(m: KestrelModel, share: number, gamma: number, beta: number): Map<string, number[]> {
  const weak = new Map<string, number[]>();
  const prunable = new Set(prunableLayers(m.spec).map((l) => l.name));
  let seed = 1;
  for (const layer of m.net.layers) {
    if (!layer.name.endsWith('_bn')) continue;
    const c = layer.getWeights()[0].shape[0];
    const g = noise(c, seed++, 0.5, 1.5), b = noise(c, seed++, -0.2, 0.4), mean = noise(c, seed++, -0.3, 0.3), v = noise(c, seed++, 0.5, 1.5);
    const conv = layer.name.slice(0, -3);
    if (prunable.has(conv)) {
      const n = c - keptCount(c, share);
      // Spread over the layer, not the first n: the kept indices really get gathered.
      const picked = Array.from({ length: n }, (_, i) => Math.floor((i * c) / n) + (c > 2 * n ? 1 : 0));
      for (const i of picked) {
        g[i] = gamma;
        b[i] = beta;
      }
      weak.set(conv, picked);
    }
    const values = [g, b, mean, v].map((a) => tf.tensor1d(a));
    layer.setWeights(values);
    tf.dispose(values);
  }
  return weak;
}

const image = noise(96 * 96 * 3, 99, 0, 1);

function maxDiff(a: Float32Array, b: Float32Array): number {
  assert.equal(a.length, b.length);
  return a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i])), 0);
}

test('pruning removes the asked share of each prunable layer and never the layers whose channels are fixed', async () => {
  await selectBackend();
  for (const block of ['conv', 'dws'] as const) {
    const m = detector({ block });
    const layers = prunableLayers(m.spec);
    const names = layers.map((l) => l.name);
    // FPN laterals feed adds; class and box outputs are the contract: never prunable.
    for (const fixed of ['p8_lat', 'p16_lat', 'p32_lat', 'h8_cls', 'h8_box', 'h32_cls']) assert.ok(!names.includes(fixed), `${block}: ${fixed} is not prunable`);
    assert.ok(names.includes('stem') && names.includes(block === 'conv' ? 'h8_c1' : 'h8_c1_pw'), `${block}: ${names.join(',')}`);
    const { model: pruned, layers: report } = pruneDetector(m, { sparsity: 0.5, criterion: 'l1' });
    for (const l of layers) {
      const node = pruned.spec.nodes.find((n) => n.name === l.name)!;
      assert.equal(node.op === 'conv' && node.filters, keptCount(l.channels, 0.5), `${block} ${l.name}: ${l.channels} → ${keptCount(l.channels, 0.5)}`);
      assert.ok(keptCount(l.channels, 0.5) < l.channels);
      const kernel = pruned.net.getLayer(l.name).getWeights()[0];
      assert.equal(kernel.shape[3], keptCount(l.channels, 0.5), 'the rebuilt layer really has fewer filters');
    }
    assert.equal(report.length, layers.length);
    const removed = report.reduce((n, l) => n + l.before - l.after, 0) / report.reduce((n, l) => n + l.before, 0);
    assert.ok(removed > 0.4 && removed <= 0.5, `${block}: ${removed} of the prunable channels removed`);
    for (const fixed of ['p8_lat', 'h8_cls', 'h8_box']) {
      const a = m.spec.nodes.find((n) => n.name === fixed)!, b = pruned.spec.nodes.find((n) => n.name === fixed)!;
      assert.deepEqual(a, b, `${fixed} unchanged`);
    }
    const before = detectorCost(m.config, m.spec), after = detectorCost(pruned.config, pruned.spec);
    assert.ok(after.params < before.params * 0.75 && after.macs < before.macs * 0.6, `${block}: params ${before.params} → ${after.params}, MACs ${before.macs} → ${after.macs}`);
    // The exported cost counts what the ONNX graph holds: cross-check on the unpruned spec.
    assert.equal(detectorCost(m.config, detectorSpec(m.config)).params, before.params);
    m.net.dispose();
    pruned.net.dispose();
  }
});

test('removing channels whose BatchNorm γ and β are zero changes no output (|γ| ranking)', async () => {
  await selectBackend();
  for (const block of ['conv', 'dws'] as const) {
    const m = detector({ block }, 7);
    const weak = withWeakChannels(m, 0.25, 0, 0);
    const want = runModel(m, image, 1);
    const { model: pruned } = pruneDetector(m, { sparsity: 0.25, criterion: 'bn' });
    // The weak channels are the ones that went.
    for (const [layer, picked] of weak) {
      const node = pruned.spec.nodes.find((n) => n.name === layer)!;
      const before = m.spec.nodes.find((n) => n.name === layer)!;
      assert.equal(node.op === 'conv' && before.op === 'conv' && before.filters - node.filters, picked.length, layer);
    }
    const got = runModel(pruned, image, 1);
    // dws: a zero channel still leaves its depthwise conv as BN(0) ≠ 0, which pruning folds into the pointwise conv's mean.
    assert.ok(maxDiff(want.scores, got.scores) < 1e-6, `${block}: scores differ by ${maxDiff(want.scores, got.scores)}`);
    assert.ok(maxDiff(want.boxes, got.boxes) < 1e-3, `${block}: boxes differ by ${maxDiff(want.boxes, got.boxes)} px`);
    m.net.dispose();
    pruned.net.dispose();
  }
});

test('at low sparsity, channels with a small γ go and the outputs stay close; a weight-blind cut does not', async () => {
  await selectBackend();
  const m = detector({}, 5);
  withWeakChannels(m, 0.125, 0.01, 0.3);
  const want = runModel(m, image, 1);
  const bn = pruneDetector(m, { sparsity: 0.125, criterion: 'bn' }).model;
  const close = runModel(bn, image, 1);
  const scoreDiff = maxDiff(want.scores, close.scores);
  const boxDiff = maxDiff(want.boxes, close.boxes);
  assert.ok(scoreDiff < 0.02, `scores differ by ${scoreDiff}`);
  // The same share cut by L1 of random filters removes channels that matter.
  const l1 = pruneDetector(m, { sparsity: 0.125, criterion: 'l1' }).model;
  const far = runModel(l1, image, 1);
  assert.ok(maxDiff(want.boxes, far.boxes) > 2 * boxDiff, `BN-ranked boxes differ by ${boxDiff} px, L1-ranked by ${maxDiff(want.boxes, far.boxes)} px`);
  [m, bn, l1].forEach((x) => x.net.dispose());
});

test('a pruned checkpoint saves its channels, loads, exports and runs in ONNX Runtime with the contract shapes', async () => {
  await selectBackend();
  const dir = tempDir();
  const m = detector({ block: 'dws' }, 9);
  withWeakChannels(m, 0.5, 0.05, 0.1);
  const { model: pruned } = pruneDetector(m, { sparsity: 0.5, criterion: 'bn' });
  const ckpt = join(dir, 'pruned');
  await saveCheckpoint(ckpt, pruned, { epoch: 0, step: 0, bestFitness: 0, bestEpoch: 0 });
  const { model: loaded, reinitialised } = await loadCheckpoint(ckpt);
  assert.deepEqual(reinitialised, [], 'every weight found its layer');
  assert.deepEqual(loaded.config.channels, pruned.config.channels);
  assert.ok(Object.keys(loaded.config.channels ?? {}).length >= 8);
  const want = runModel(pruned, image, 1);
  const back = runModel(loaded, image, 1);
  assert.equal(maxDiff(want.scores, back.scores), 0);

  const out = join(dir, 'pruned.onnx');
  await exportCheckpoint({ checkpoint: ckpt, output: out });
  const session = await ort.InferenceSession.create(out, { intraOpNumThreads: 1 });
  const nchw = new Float32Array(image.length);
  for (let c = 0; c < 3; c++) for (let p = 0; p < 96 * 96; p++) nchw[c * 96 * 96 + p] = image[p * 3 + c];
  const r = await session.run({ input: new ort.Tensor('float32', nchw, [1, 3, 96, 96]) });
  const n = anchorCount(pruned.config);
  assert.deepEqual(r.scores.dims, [1, n, LABELS.length]);
  assert.deepEqual(r.boxes.dims, [1, n, 4]);
  assert.ok(maxDiff(want.scores, r.scores.data as Float32Array) < 1e-4);
  assert.ok(maxDiff(want.boxes, r.boxes.data as Float32Array) < 1e-3);
  await session.release();
  // `kestrel train --from pruned.onnx` rebuilds the pruned widths from kestrel.architecture.
  const imported = loadOnnxDetector(out);
  assert.deepEqual(imported.model.config.channels, pruned.config.channels);
  assert.ok(maxDiff(want.scores, runModel(imported.model, image, 1).scores) < 1e-4);
  [m, pruned, loaded, imported.model].forEach((x) => x.net.dispose());
});

test('kept channels can be rounded up to a multiple (ONNX Runtime CPU blocks of 8)', async () => {
  await selectBackend();
  assert.equal(keptCount(48, 0.25), 36);
  assert.equal(keptCount(48, 0.25, 4, 8), 40);
  assert.equal(keptCount(8, 0.5, 4, 8), 8, 'never more than the layer has');
  const m = detector({ width: 0.5 });
  const { model: pruned, layers } = pruneDetector(m, { sparsity: 0.25, criterion: 'l1', multiple: 8 });
  for (const l of layers) assert.equal(l.after % 8, 0, `${l.name}: ${l.before} → ${l.after}`);
  assert.ok(layers.some((l) => l.after < l.before));
  assert.throws(() => pruneDetector(m, { sparsity: 0.25, criterion: 'l1', multiple: 0 }), /multiple must be a positive whole number/);
  [m, pruned].forEach((x) => x.net.dispose());
});

test('a config that names unknown or fixed layers in channels is refused', () => {
  assert.throws(() => detectorSpec(resolveDetectorConfig({ labels: LABELS, width: 0.25, channels: { nope: 8 } })), /channels names layers .*: nope/);
  assert.throws(() => detectorSpec(resolveDetectorConfig({ labels: LABELS, width: 0.25, channels: { h8_cls: 2 } })), /h8_cls/);
  assert.throws(() => resolveDetectorConfig({ labels: LABELS, channels: { stem: 0 } }), /channels.stem must be a positive whole number/);
});

test('fine-tuning keeps how the original run saw the data, not its length or learning rate', () => {
  const args = { data: 'ds', epochs: 300, lr: 0.006, augment: { mosaic: 0, scale: 0, flipUD: 0.5 }, cropSize: 160, classBalanced: false, closeMosaic: 2, seed: 4 };
  assert.deepEqual(trainingRecipe(args), { augment: { mosaic: 0, scale: 0, flipUD: 0.5 }, cropSize: 160, classBalanced: false, closeMosaic: 2 });
  assert.deepEqual(trainingRecipe(undefined), {});
});

// `kestrel eval --baseline-out`: a real ONNX model run over a validation split in ONNX Runtime, its
// predictions binned exactly as the agent bins live detections, and written into a copy of the
// model as kestrel.drift_baseline, which the copy then carries (and still detects with).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { driftBaselineOf, readMetadata, readModelSync, scoreBin, areaBin, Detector } from '@kestrel/core';
import { evaluate } from '@kestrel/trainer/eval/evaluate';
import { fixedDetector } from '../agent/support/update-kit.js';
import { runKestrel } from '../support/cli.js';
import { tempDir } from './support/tmp.js';

const SIZE = 64;
const IDS = ['a.png', 'b.png', 'c.png', 'd.png', 'e.png'];

async function dataset(): Promise<string> {
  const root = tempDir();
  mkdirSync(join(root, 'images'));
  mkdirSync(join(root, 'labels'));
  for (const id of IDS) await sharp({ create: { width: SIZE, height: SIZE, channels: 3, background: '#777' } }).png().toFile(join(root, 'images', id));
  for (const id of IDS) writeFileSync(join(root, 'labels', id.replace('.png', '.txt')), '0 0.5 0.5 0.25 0.25\n');
  writeFileSync(join(root, 'dataset.json'), JSON.stringify({ schema: 1, name: 'fixed', classes: ['thing'], splits: { train: ['a.png'], val: IDS.slice(1), test: [] } }));
  return root;
}

test('eval writes the model with the validation split\'s drift baseline, binned as the agent bins', { timeout: 60_000 }, async () => {
  const root = await dataset();
  const dir = tempDir();
  const model = join(dir, 'fixed.onnx');
  writeFileSync(model, fixedDetector(SIZE, 0.9));
  const out = join(dir, 'fixed-baseline.onnx');
  const report = await evaluate({ model, data: root, split: 'val', baseline: { out, minScore: 0.35 } });
  assert.deepEqual(report.baseline, { path: out, frames: 4, classes: 1, detections: 4, minScore: 0.35 });

  const meta = readMetadata(readModelSync(out));
  const baseline = driftBaselineOf(meta, out)!;
  assert.equal(baseline.source, `eval ${root} val`);
  assert.equal(baseline.frames, 4);
  assert.deepEqual(baseline.count, [0, 4, 0, 0, 0, 0, 0, 0], 'one detection in every image');
  const thing = baseline.classes.thing!;
  // The fixed box: score 0.9, a quarter of the side each way (1/16 of the image).
  assert.equal(thing.score[scoreBin(0.9, 0.35)], 4);
  assert.equal(thing.area[areaBin(1 / 16)], 4);
  assert.equal(meta.version, 's0.9', 'the rest of the metadata is kept');

  // The copy still runs as the model did.
  const detector = await Detector.load(out, { threads: 1 });
  try {
    assert.equal(driftBaselineOf(detector.meta)?.frames, 4, 'the agent reads it from the loaded model');
  } finally {
    await detector.close();
  }
});

test('a blind model\'s baseline puts every image at zero detections; the CLI refuses a checkpoint and a bad min score', { timeout: 60_000 }, async () => {
  const root = await dataset();
  const dir = tempDir();
  const model = join(dir, 'blind.onnx');
  writeFileSync(model, fixedDetector(SIZE, 0.2));
  const out = join(dir, 'blind-baseline.onnx');
  const r = await runKestrel(['eval', '--model', model, '--data', root, '--split', 'val', '--no-plots', '--baseline-out', out]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /drift baseline \(4 images, 0 detections at 0\.35 and up, 0 classes\) written with the model to /);
  assert.deepEqual(driftBaselineOf(readMetadata(readModelSync(out)))!.count, [4, 0, 0, 0, 0, 0, 0, 0]);

  const checkpoint = await runKestrel(['eval', '--model', dir, '--data', root, '--baseline-out', join(dir, 'x.onnx')]);
  assert.equal(checkpoint.code, 2);
  assert.match(checkpoint.stderr, /--baseline-out writes an ONNX model .* is not an \.onnx file/);
  const bad = await runKestrel(['eval', '--model', model, '--data', root, '--split', 'val', '--baseline-out', out, '--baseline-min-score', '1.5']);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /--baseline-min-score must be at least 0 and below 1, got 1\.5/);
});

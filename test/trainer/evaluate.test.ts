// Evaluation on a case small enough to work out by hand, through the trainer's evaluate path
// (class names matched between dataset and model, pixels from normalised labels).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import type { Detection } from '@kestrel/core/detect/types';
import { detectorMetadata } from '@kestrel/trainer/model/metadata';
import { resolveDetectorConfig } from '@kestrel/trainer/model/config';
import { loadDataset } from '@kestrel/trainer/data/dataset';
import { evaluatePredictor } from '@kestrel/trainer/eval/evaluate';
import type { Predictor, ImageResult } from '@kestrel/trainer/eval/predictors';
import type { DatasetItem } from '@kestrel/trainer/data/types';
import { tempDir } from './support/tmp.js';

/** Fixed detections per image: the "model" under evaluation, known exactly. */
class FixedPredictor implements Predictor {
  readonly kind = 'onnx' as const;
  readonly msPerImage = 1;
  readonly meta = detectorMetadata(resolveDetectorConfig({ labels: ['a', 'b'], inputHeight: 64, inputWidth: 64 }));
  constructor(private readonly byImage: Record<string, Detection[]>) {}
  async *predict(items: readonly DatasetItem[]): AsyncGenerator<ImageResult> {
    for (const item of items) yield { item, detections: this.byImage[item.id] ?? [] };
  }
  async close(): Promise<void> {}
}

test('mAP on a hand-checked case: AP(a) = (51·1 + 50·2/3)/101, AP(b) = 1', async () => {
  const root = tempDir();
  mkdirSync(join(root, 'images'));
  mkdirSync(join(root, 'labels'));
  for (const id of ['p', 'q']) await sharp({ create: { width: 100, height: 100, channels: 3, background: '#777' } }).png().toFile(join(root, 'images', `${id}.png`));
  // The dataset lists its classes in the other order: evaluation must match them by name.
  writeFileSync(join(root, 'dataset.json'), JSON.stringify({ schema: 1, name: 'hand', classes: ['b', 'a'] }));
  writeFileSync(join(root, 'labels/p.txt'), '1 0.2 0.2 0.2 0.2\n0 0.7 0.7 0.2 0.2\n'); // a at [10,10,30,30], b at [60,60,80,80]
  writeFileSync(join(root, 'labels/q.txt'), '1 0.5 0.5 0.2 0.2\n'); // a at [40,40,60,60]
  const ds = loadDataset(root);
  const det = (classId: number, score: number, box: [number, number, number, number]): Detection => ({ classId, label: ['a', 'b'][classId], score, box });
  const predictor = new FixedPredictor({
    'p.png': [det(0, 0.9, [10, 10, 30, 30]), det(0, 0.8, [70, 0, 90, 20]), det(1, 0.6, [60, 60, 80, 80])],
    'q.png': [det(0, 0.7, [41, 40, 61, 60])],
  });
  const { metrics } = await evaluatePredictor(predictor, ds.items, ds);
  const apA = (51 + 50 * (2 / 3)) / 101;
  const a = metrics.perClass.find((c) => c.label === 'a')!;
  const b = metrics.perClass.find((c) => c.label === 'b')!;
  assert.equal(a.truths, 2);
  assert.ok(Math.abs(a.ap50 - apA) < 1e-9, `AP(a) ${a.ap50} vs ${apA}`);
  assert.equal(b.ap50, 1);
  assert.ok(Math.abs(metrics.map50 - (apA + 1) / 2) < 1e-9);
  // The 0.7 detection of a overlaps its truth at IoU 19·20/(2·400 − 380) = 0.905: a hit at 0.5..0.9 only.
  assert.ok(Math.abs(a.ap50to95 - (9 * apA + (51 * 1 + 0) / 101) / 10) < 1e-9, `AP(a)@.5:.95 ${a.ap50to95}`);
  // Best F1 over all classes: 3 hits of 3 truths at the cost of one false positive.
  assert.equal(metrics.recall, 1);
  assert.equal(metrics.precision, 0.75);
});

test('evaluation refuses a model that does not know the dataset classes', async () => {
  const root = tempDir();
  mkdirSync(join(root, 'images'));
  await sharp({ create: { width: 10, height: 10, channels: 3, background: '#777' } }).png().toFile(join(root, 'images', 'x.png'));
  writeFileSync(join(root, 'dataset.json'), JSON.stringify({ schema: 1, name: 'x', classes: ['a', 'zebra'] }));
  const ds = loadDataset(root);
  await assert.rejects(evaluatePredictor(new FixedPredictor({}), ds.items, ds), /does not know the dataset's classes zebra/);
});

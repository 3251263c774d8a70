// `train` end to end on a tiny synthetic set: the run folder a person browses, --resume picking
// up where a run stopped, and fine-tuning a finished run for other classes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { synthFactoryDataset } from '@kestrel/trainer/data/synth/factory';
import { readManifest } from '@kestrel/trainer/data/dataset';
import { train } from '@kestrel/trainer/train/trainer';
import { readCheckpointFile } from '@kestrel/trainer/model/checkpoint';
import { silentLogger } from '@kestrel/core/util/log';
import { pino } from 'pino';
import { tempDir } from './support/tmp.js';

const tiny = { batch: 4, imgsz: 96, width: 0.25, valBatch: 4, logger: silentLogger, progress: false } as const;

test('a training run writes weights, metrics per epoch, curves, PR and confusion plots and sample predictions; --resume continues it', async () => {
  const dir = tempDir();
  await synthFactoryDataset(join(dir, 'ds'), { count: 16, seed: 3, size: 96 });
  const r = await train({ ...tiny, data: join(dir, 'ds'), epochs: 2, project: join(dir, 'runs'), name: 'exp' });
  assert.equal(r.runDir, join(dir, 'runs', 'exp'));
  assert.equal(r.epochs, 2);
  assert.equal(r.backend, 'wasm');
  assert.match(r.datasetHash, /^sha256:[0-9a-f]{16}$/);
  for (const f of ['args.json', 'train_batch.png', 'results.csv', 'results.json', 'curves.png', 'pr_curve.png', 'confusion_matrix.png', 'val_predictions.png', 'summary.json', 'val_metrics.json']) {
    assert.ok(existsSync(join(r.runDir, f)), `${f} written`);
  }
  for (const png of ['train_batch.png', 'curves.png', 'pr_curve.png', 'confusion_matrix.png', 'val_predictions.png']) {
    const meta = await sharp(join(r.runDir, png)).metadata();
    assert.equal(meta.format, 'png');
    assert.ok(meta.width! > 200 && meta.height! > 200, `${png} is a real picture`);
  }
  const csv = readFileSync(join(r.runDir, 'results.csv'), 'utf8').trim().split('\n');
  assert.equal(csv[0], 'epoch,lr,trainLoss,clsLoss,boxLoss,dflLoss,valMap50,valMap50to95,precision,recall,f1,elapsed');
  assert.equal(csv.length, 3);
  const dflColumn = csv[0].split(',').indexOf('dflLoss');
  assert.ok(csv.slice(1).every((row) => Number(row.split(',')[dflColumn]) > 0), 'the box sides\' distribution loss is recorded (default detector has bins)');
  assert.equal(readCheckpointFile(r.last).state.epoch, 1);
  assert.ok(existsSync(join(r.last, 'optimizer.bin')), 'last keeps the optimizer state for --resume');

  // Resume: ask for one more epoch; the run continues at epoch 3 in the same folder.
  const resumed = await train({ ...tiny, data: join(dir, 'ds'), resume: r.runDir, epochs: 3 });
  assert.equal(resumed.runDir, r.runDir);
  assert.equal(readCheckpointFile(resumed.last).state.epoch, 2);
  const rows = JSON.parse(readFileSync(join(r.runDir, 'results.json'), 'utf8')) as Array<{ epoch: number }>;
  assert.deepEqual(rows.map((x) => x.epoch), [1, 2, 3], 'epochs counted from 1, as the logs and summary.json count them');
  const csvAfter = readFileSync(join(r.runDir, 'results.csv'), 'utf8').trim().split('\n');
  assert.deepEqual(csvAfter.slice(1).map((row) => row.split(',')[0]), ['1', '2', '3']);
  const summary = JSON.parse(readFileSync(join(r.runDir, 'summary.json'), 'utf8')) as { epochs: number; bestEpoch: number };
  assert.equal(summary.epochs, 3);
  assert.ok(summary.bestEpoch >= 1 && summary.bestEpoch <= 3, `bestEpoch ${summary.bestEpoch} is one of epochs 1..3`);
});

test('fine-tuning a finished run on a dataset with other classes (on crops) keeps the backbone and trains a new head', async () => {
  const dir = tempDir();
  await synthFactoryDataset(join(dir, 'ds'), { count: 12, seed: 4, size: 96 });
  const base = await train({ ...tiny, data: join(dir, 'ds'), epochs: 1, project: join(dir, 'runs'), name: 'base' });
  // The same pictures relabelled: only "part" and "scratch" kept, renamed.
  const manifest = readManifest(join(dir, 'ds'));
  writeFileSync(join(dir, 'ds', 'dataset.json'), JSON.stringify({ ...manifest, classes: ['widget', 'scuff', 'c2', 'c3', 'c4'] }));
  // Trained on 64-pixel crops; the checkpoint is still the 96-pixel deploy network.
  const tuned = await train({ ...tiny, data: join(dir, 'ds'), from: base.best, epochs: 1, cropSize: 64, project: join(dir, 'runs'), name: 'tuned' });
  const file = readCheckpointFile(tuned.best);
  assert.deepEqual(file.config.labels, ['widget', 'scuff', 'c2', 'c3', 'c4']);
  assert.equal(file.config.width, 0.25, 'architecture comes from the checkpoint');
  assert.equal(file.config.inputHeight, 96);
  await assert.rejects(
    train({ ...tiny, data: join(dir, 'ds'), from: base.best, boxBins: 0, epochs: 1, project: join(dir, 'runs'), name: 'rebinned' }),
    /--box-bins 0: .* predicts box sides with 8 bins, and fine-tuning keeps its head/,
  );
  assert.ok(!existsSync(join(dir, 'runs', 'rebinned')), 'a refused run leaves no folder');
  // At 480 px the 8 bins of a 96-px model reach 7 × 32 = 224 px from a centre: larger boxes clip.
  const warnings: string[] = [];
  const capture = pino({ level: 'warn' }, { write: (line: string) => void warnings.push(line) });
  await train({ ...tiny, logger: capture, data: join(dir, 'ds'), from: base.best, imgsz: 480, cropSize: 64, epochs: 1, project: join(dir, 'runs'), name: 'bigger' });
  assert.ok(warnings.some((w) => /box sides reach at most 224 px .*a new detector at this size gets 9 bins/.test(w)), warnings.join('\n'));
});

test('bad training options are refused with the flag named', async () => {
  await assert.rejects(train({ data: '/nonexistent', imgsz: 100, logger: silentLogger }), /--imgsz must be a multiple of 32/);
  await assert.rejects(train({ data: '/nonexistent', lr: 5, logger: silentLogger }), /--lr must be between 0 and 1/);
});

test('augmentation options from the API are checked too', async () => {
  await assert.rejects(train({ data: '/nonexistent', augment: { flipUD: 1.5 }, logger: silentLogger }), /augment.flipUD must be a probability in \[0, 1\], got 1.5/);
  await assert.rejects(train({ data: '/nonexistent', augment: { scale: 1 }, logger: silentLogger }), /augment.scale must be in \[0, 1\), got 1/);
});

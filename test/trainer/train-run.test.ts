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
import { evaluate } from '@kestrel/trainer/eval/evaluate';
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
  // Ultralytics' column names, so YOLO tooling reads Kestrel runs; Kestrel's extras at the end.
  assert.equal(
    csv[0],
    'epoch,time,train/box_loss,train/cls_loss,train/dfl_loss,metrics/precision(B),metrics/recall(B),metrics/mAP50(B),metrics/mAP50-95(B),val/box_loss,val/cls_loss,val/dfl_loss,lr/pg0,train/loss,val/loss,metrics/F1(B)',
  );
  assert.equal(csv.length, 3);
  const column = (name: string) => csv.slice(1).map((row) => Number(row.split(',')[csv[0].split(',').indexOf(name)]));
  assert.ok(column('train/dfl_loss').every((v) => v > 0), 'the box sides\' distribution loss is recorded (default detector has bins)');
  // Validation losses: the same loss on the val split, every epoch; the total weighs the parts as in training.
  for (const name of ['val/box_loss', 'val/cls_loss', 'val/dfl_loss', 'val/loss']) assert.ok(column(name).every((v) => Number.isFinite(v) && v > 0), `${name}: ${column(name)}`);
  column('val/loss').forEach((total, i) => {
    const expected = column('val/cls_loss')[i] + 2 * column('val/box_loss')[i] + 0.25 * column('val/dfl_loss')[i];
    assert.ok(Math.abs(total - expected) < 1e-3, `val/loss ${total} = cls + 2·box + 0.25·dfl = ${expected}`);
  });
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

  // kestrel eval: a run folder of its own each time (runs/val/exp, exp2), with the plots.
  const evalRuns = [];
  for (const _ of [1, 2]) evalRuns.push(await evaluate({ model: r.best, data: join(dir, 'ds'), split: 'val', batch: 4, run: { project: join(dir, 'val'), name: 'exp' } }));
  assert.deepEqual(evalRuns.map((e) => e.runDir), [join(dir, 'val', 'exp'), join(dir, 'val', 'exp2')]);
  for (const f of ['pr_curve.png', 'confusion_matrix.png', 'val_predictions.png', 'val_metrics.json']) assert.ok(existsSync(join(dir, 'val', 'exp2', f)), `eval wrote ${f}`);
  // A dataset without a test split: the error says which splits there are.
  const manifest = readManifest(join(dir, 'ds'));
  writeFileSync(join(dir, 'ds', 'dataset.json'), JSON.stringify({ ...manifest, splits: { ...manifest.splits, test: [] } }));
  await assert.rejects(evaluate({ model: r.best, data: join(dir, 'ds') }), /ds has no test split; its splits: train \(\d+ images\), val \(\d+ images?\); choose one with --split val/);
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

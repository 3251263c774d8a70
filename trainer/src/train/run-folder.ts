// The run folder a person browses after training (runs/train/<name>/): arguments, metrics per
// epoch as CSV and JSON, charts, sample predictions, and the weights (last/ and best/).
import { appendFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createRunDir } from '@kestrel/core/util/run-dir';

export interface EpochMetrics {
  /** Counted from 1, as in the logs, the progress bar and summary.json's bestEpoch. */
  epoch: number;
  lr: number;
  trainLoss: number;
  clsLoss: number;
  boxLoss: number;
  /** Distribution focal loss of the box sides (0 without box bins); the total weighs it 0.25. */
  dflLoss: number;
  /** The same loss on the validation split (no augmentation, no gradients); NaN without one. */
  valLoss: number;
  valClsLoss: number;
  valBoxLoss: number;
  valDflLoss: number;
  valMap50: number;
  valMap50to95: number;
  precision: number;
  recall: number;
  f1: number;
  /** Seconds since training started. */
  elapsed: number;
}

/**
 * results.csv has Ultralytics' column names, so the scripts and notebooks people already have for
 * YOLO runs read it: box_loss is Kestrel's GIoU loss, cls_loss its quality focal loss, dfl_loss
 * the distribution focal loss of the box sides, (B) the box metrics; one learning rate, pg0. The
 * columns Ultralytics lacks (the weighted total, F1) come last. results.json keeps the names of
 * EpochMetrics.
 */
const CSV_COLUMNS: ReadonlyArray<readonly [string, keyof EpochMetrics]> = [
  ['epoch', 'epoch'],
  ['time', 'elapsed'],
  ['train/box_loss', 'boxLoss'],
  ['train/cls_loss', 'clsLoss'],
  ['train/dfl_loss', 'dflLoss'],
  ['metrics/precision(B)', 'precision'],
  ['metrics/recall(B)', 'recall'],
  ['metrics/mAP50(B)', 'valMap50'],
  ['metrics/mAP50-95(B)', 'valMap50to95'],
  ['val/box_loss', 'valBoxLoss'],
  ['val/cls_loss', 'valClsLoss'],
  ['val/dfl_loss', 'valDflLoss'],
  ['lr/pg0', 'lr'],
  ['train/loss', 'trainLoss'],
  ['val/loss', 'valLoss'],
  ['metrics/F1(B)', 'f1'],
];
const CSV_HEADER = CSV_COLUMNS.map(([name]) => name).join(',');

function csvRow(m: EpochMetrics): string {
  return CSV_COLUMNS.map(([, key]) => round(m[key])).join(',');
}

export class RunFolder {
  constructor(readonly dir: string) {}

  /** runs/train/<name>, or <name>2, <name>3 ... when it exists (unless reusing it on purpose). */
  static create(project: string, name: string, reuse = false): RunFolder {
    const dir = createRunDir(project, name, reuse);
    mkdirSync(join(dir, 'weights'), { recursive: true });
    return new RunFolder(dir);
  }

  get lastWeights(): string {
    return join(this.dir, 'weights', 'last');
  }

  get bestWeights(): string {
    return join(this.dir, 'weights', 'best');
  }

  path(file: string): string {
    return join(this.dir, file);
  }

  writeJson(file: string, value: unknown): void {
    writeFileSync(this.path(file), JSON.stringify(value, null, 2) + '\n');
  }

  write(file: string, data: string | Uint8Array): void {
    writeFileSync(this.path(file), data);
  }

  appendMetrics(m: EpochMetrics): void {
    const csv = this.path('results.csv');
    if (!existsSync(csv)) writeFileSync(csv, CSV_HEADER + '\n');
    appendFileSync(csv, csvRow(m) + '\n');
    const all = this.readMetrics();
    all.push(m);
    this.writeJson('results.json', all);
  }

  readMetrics(): EpochMetrics[] {
    const json = this.path('results.json');
    return existsSync(json) ? (JSON.parse(readFileSync(json, 'utf8')) as EpochMetrics[]) : [];
  }

  /** Drops epochs after `epoch` (counted from 1; a resumed run repeats them). */
  truncateMetrics(epoch: number): void {
    const kept = this.readMetrics().filter((m) => m.epoch <= epoch);
    this.writeJson('results.json', kept);
    writeFileSync(this.path('results.csv'), [CSV_HEADER, ...kept.map(csvRow)].join('\n') + '\n');
  }
}

function round(v: number): string {
  return Number.isFinite(v) ? String(Math.round(v * 1e5) / 1e5) : '';
}

// The run folder a person browses after training (runs/train/<name>/): arguments, metrics per
// epoch as CSV and JSON, charts, sample predictions, and the weights (last/ and best/).
import { appendFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

export interface EpochMetrics {
  /** Counted from 1, as in the logs, the progress bar and summary.json's bestEpoch. */
  epoch: number;
  lr: number;
  trainLoss: number;
  clsLoss: number;
  boxLoss: number;
  /** Distribution focal loss of the box sides (0 without box bins); the total weighs it 0.25. */
  dflLoss: number;
  valMap50: number;
  valMap50to95: number;
  precision: number;
  recall: number;
  f1: number;
  /** Seconds since training started. */
  elapsed: number;
}

const CSV_COLUMNS: Array<keyof EpochMetrics> = ['epoch', 'lr', 'trainLoss', 'clsLoss', 'boxLoss', 'dflLoss', 'valMap50', 'valMap50to95', 'precision', 'recall', 'f1', 'elapsed'];

export class RunFolder {
  constructor(readonly dir: string) {}

  /** runs/train/<name>, or <name>2, <name>3 ... when it exists (unless reusing it on purpose). */
  static create(project: string, name: string, reuse = false): RunFolder {
    let dir = resolve(project, name);
    for (let k = 2; !reuse && existsSync(dir); k++) dir = resolve(project, `${name}${k}`);
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
    if (!existsSync(csv)) writeFileSync(csv, CSV_COLUMNS.join(',') + '\n');
    appendFileSync(csv, CSV_COLUMNS.map((c) => round(m[c])).join(',') + '\n');
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
    writeFileSync(this.path('results.csv'), [CSV_COLUMNS.join(','), ...kept.map((m) => CSV_COLUMNS.map((c) => round(m[c])).join(','))].join('\n') + '\n');
  }
}

function round(v: number): string {
  return Number.isFinite(v) ? String(Math.round(v * 1e5) / 1e5) : '';
}

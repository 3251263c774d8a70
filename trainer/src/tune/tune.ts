// `kestrel tune`: draws trials from a search space, runs each with k-fold cross-validation (in
// this process or on a job queue), and writes what a person compares: a table of trials best
// first, a plot, and best.json, which `kestrel train --params` reads. Random search, because with
// the handful of trials a k-fold budget buys it is as good as cleverer samplers and needs no state
// shared between workers (Bergstra & Bengio, 2012).
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { KestrelError } from '@kestrel/core/util/errors';
import { createLogger, type Logger } from '@kestrel/core/util/log';
import { createRunDir } from '@kestrel/core/util/run-dir';
import { createRng, deriveSeed } from '../data/rng.js';
import { loadDataset } from '../data/dataset.js';
import { chartGrid, svgToPng, type Series } from '../report/svg-charts.js';
import { kFoldSplits } from './folds.js';
import { InProcessRunner, QueueRunner, type TrialRunner } from './runners.js';
import { applyParams, DEFAULT_SPACE, drawDistinct, type Params, type SearchSpace, type TunableName } from './space.js';
import type { BaseTrainOptions, TrialResult, TrialSpec } from './trial.js';

export interface TuneOptions {
  data: string;
  space?: SearchSpace;
  trials?: number;
  folds?: number;
  seed?: number;
  /** What every trial trains with besides the searched parameters (epochs, imgsz, width, ...). */
  base?: BaseTrainOptions;
  project?: string;
  name?: string;
  /** postgres:// URL: trials become jobs that `kestrel tune worker` on other machines shares. */
  queue?: string;
  queueSchema?: string;
  /** With a queue: whether this process runs trials too (default true). */
  work?: boolean;
  trialTimeoutMinutes?: number;
  logger?: Logger;
}

export interface TuneResult {
  search: string;
  runDir: string;
  folds: number;
  /** Best first; failed trials last. */
  trials: TrialResult[];
  best?: { index: number; params: Params; fitness: number; fitnessStd: number; map50: number; map50to95: number };
  bestFile?: string;
  plot: string;
  seconds: number;
}

/** What best.json holds: the winning values and the full options `kestrel train --params` applies. */
export interface BestParamsFile {
  schema: 1;
  search: string;
  params: Params;
  train: BaseTrainOptions;
  crossValidation: { folds: number; fitness: number; fitnessStd: number; map50: number; map50to95: number };
}

export const TUNE_DEFAULTS = { trials: 8, folds: 3, seed: 0, project: 'runs/tune', name: 'exp', base: { epochs: 10 } satisfies BaseTrainOptions };

export async function tune(o: TuneOptions): Promise<TuneResult> {
  const started = Date.now();
  const logger = o.logger ?? createLogger('tune');
  const trials = o.trials ?? TUNE_DEFAULTS.trials;
  const folds = o.folds ?? TUNE_DEFAULTS.folds;
  const seed = o.seed ?? TUNE_DEFAULTS.seed;
  if (!Number.isInteger(trials) || trials < 1) throw new KestrelError('E_USAGE', `--trials must be a positive whole number, got ${trials}`);
  const data = resolve(o.data);
  // Fail before queueing anything: a dataset that cannot be read or split would fail every trial.
  kFoldSplits(loadDataset(data), folds, seed);
  const space = o.space ?? DEFAULT_SPACE;
  const base = { ...TUNE_DEFAULTS.base, ...o.base };
  const runDir = createRunDir(o.project ?? TUNE_DEFAULTS.project, o.name ?? TUNE_DEFAULTS.name);
  const search = randomBytes(6).toString('hex');
  const rng = createRng(deriveSeed(seed, 'tune'));
  const points = drawDistinct(space, rng, trials);
  if (points.length < trials) logger.info({ asked: trials, distinct: points.length }, 'the space has fewer points than trials asked: each point is tried once');
  const specs: TrialSpec[] = points.map((params, index) => ({ search, index, params, data, folds, seed, base, folder: join(runDir, 'trials') }));
  writeFileSync(join(runDir, 'search.json'), JSON.stringify({ search, data, folds, seed, space, base, trials: specs.map((s) => ({ index: s.index, params: s.params })) }, null, 2) + '\n');
  logger.info({ search, trials, folds, runDir, queue: Boolean(o.queue) }, 'search started');

  const runner: TrialRunner = o.queue
    ? await QueueRunner.open({ url: o.queue, schema: o.queueSchema, logger, work: o.work, trialTimeoutMinutes: o.trialTimeoutMinutes })
    : new InProcessRunner(logger);
  let results: TrialResult[];
  try {
    results = await runner.run(specs, (r) => {
      logger.info({ trial: r.index, fitness: r.fitness, std: r.fitnessStd, params: r.params, ...(r.error && { error: r.error }) }, 'trial done');
      writeFileSync(join(runDir, 'trials.jsonl'), JSON.stringify(r) + '\n', { flag: 'a' });
    });
  } finally {
    await runner.close();
  }

  const ranked = rankTrials(results);
  writeFileSync(join(runDir, 'trials.csv'), trialsCsv(ranked, Object.keys(space) as TunableName[]));
  writeFileSync(join(runDir, 'trials.json'), JSON.stringify(ranked, null, 2) + '\n');
  const plot = join(runDir, 'tune.png');
  writeFileSync(plot, await tunePlot(ranked, space));
  const winner = ranked.find((r) => !r.error);
  let bestFile: string | undefined;
  if (winner) {
    bestFile = join(runDir, 'best.json');
    const file: BestParamsFile = {
      schema: 1, search, params: winner.params, train: withoutData(applyParams({ ...base, data }, winner.params)),
      crossValidation: { folds, fitness: winner.fitness, fitnessStd: winner.fitnessStd, map50: winner.map50, map50to95: winner.map50to95 },
    };
    writeFileSync(bestFile, JSON.stringify(file, null, 2) + '\n');
  }
  return {
    search, runDir, folds, trials: ranked, plot, bestFile, seconds: Math.round((Date.now() - started) / 1000),
    ...(winner && { best: { index: winner.index, params: winner.params, fitness: winner.fitness, fitnessStd: winner.fitnessStd, map50: winner.map50, map50to95: winner.map50to95 } }),
  };
}

/** Best cross-validated fitness first; failed trials last, in trial order. */
export function rankTrials(results: readonly TrialResult[]): TrialResult[] {
  return [...results].sort((a, b) => {
    if (Boolean(a.error) !== Boolean(b.error)) return a.error ? 1 : -1;
    if (a.error) return a.index - b.index;
    return b.fitness - a.fitness || a.index - b.index;
  });
}

function withoutData(o: BaseTrainOptions & { data?: string }): BaseTrainOptions {
  const { data: _data, ...rest } = o;
  return rest;
}

export function trialsCsv(ranked: readonly TrialResult[], names: readonly TunableName[]): string {
  const header = ['rank', 'trial', ...names, 'fitness', 'fitness_std', 'mAP50', 'mAP50-95', 'seconds', 'worker', 'error'];
  const rows = ranked.map((r, i) => [i + 1, r.index, ...names.map((n) => r.params[n] ?? ''), round(r.fitness), round(r.fitnessStd), round(r.map50), round(r.map50to95), r.seconds, r.worker, r.error ? JSON.stringify(r.error) : '']);
  return [header, ...rows].map((row) => row.join(',')).join('\n') + '\n';
}

/** The table a person reads on the terminal, best first. */
export function trialsTable(ranked: readonly TrialResult[], names: readonly TunableName[]): string {
  const head = ['#', 'trial', ...names, 'fitness ± std', 'mAP50', 'mAP50-95', 's'];
  const rows = ranked.map((r, i) => [String(i + 1), String(r.index), ...names.map((n) => fmtParam(r.params[n])), r.error ? `failed: ${r.error.slice(0, 60)}` : `${r.fitness.toFixed(3)} ± ${r.fitnessStd.toFixed(3)}`, r.error ? '' : r.map50.toFixed(3), r.error ? '' : r.map50to95.toFixed(3), String(r.seconds)]);
  const widths = head.map((h, c) => Math.max(h.length, ...rows.map((row) => row[c].length)));
  return [head, ...rows].map((row) => row.map((cell, c) => cell.padEnd(widths[c])).join('  ').trimEnd()).join('\n') + '\n';
}

async function tunePlot(ranked: readonly TrialResult[], space: SearchSpace): Promise<Buffer> {
  const done = ranked.filter((r) => !r.error).sort((a, b) => a.index - b.index);
  let bestSoFar = -Infinity;
  const progress: Series[] = [
    { name: 'trial (mean of folds)', points: done.map((r) => [r.index, r.fitness]), markers: true },
    { name: 'best so far', points: done.map((r) => [r.index, (bestSoFar = Math.max(bestSoFar, r.fitness))]) },
  ];
  // One panel per parameter: fitness against its value (sorted by value, so the line reads as a
  // trend); rates drawn log-uniform are plotted on a log axis.
  const perParam = (Object.keys(space) as TunableName[]).map((n) => {
    const log = 'log' in space[n]!;
    const points = done.filter((r) => r.params[n] !== undefined).map((r) => [log ? Math.log10(r.params[n]!) : r.params[n]!, r.fitness] as [number, number]).sort((a, b) => a[0] - b[0]);
    const xs = points.map((p) => p[0]);
    const [lo, hi] = xs.length ? [Math.min(...xs), Math.max(...xs)] : [0, 1];
    return { title: `fitness vs ${n}`, xLabel: log ? `log10 ${n}` : n, xMin: lo === hi ? lo - 0.5 : lo, xMax: lo === hi ? hi + 0.5 : hi, series: [{ name: 'trials', points, markers: true }] };
  });
  return svgToPng(chartGrid([{ title: 'cross-validated fitness per trial', xLabel: 'trial', series: progress }, ...perParam], 3));
}

function fmtParam(v: number | undefined): string {
  if (v === undefined) return '';
  return Math.abs(v) > 0 && Math.abs(v) < 0.01 ? v.toExponential(2) : String(Number(v.toPrecision(3)));
}

function round(v: number): string {
  return Number.isFinite(v) ? v.toFixed(4) : '';
}

/** best.json as `kestrel train --params` reads it; anything else is an error naming the file. */
export function readParamsFile(path: string, read: (p: string) => string): BaseTrainOptions {
  let parsed: unknown;
  try {
    parsed = JSON.parse(read(path));
  } catch (err) {
    throw new KestrelError('E_USAGE', `--params ${path}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : `not JSON (${(err as Error).message})`}`);
  }
  const file = parsed as Partial<BestParamsFile>;
  if (typeof file !== 'object' || file === null || file.schema !== 1 || typeof file.train !== 'object' || file.train === null) {
    throw new KestrelError('E_USAGE', `--params ${path}: not a best.json written by kestrel tune (needs "schema": 1 and a "train" object)`);
  }
  return file.train;
}

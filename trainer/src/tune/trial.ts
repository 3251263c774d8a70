// One trial of a search: the same hyperparameters trained once per fold, each run validated on
// the fold it did not see; the trial's score is the mean over folds (and its spread says how
// much to trust a difference between two trials). A TrialSpec is plain JSON so a job queue can
// carry it to another machine.
import { hostname } from 'node:os';
import type { Logger } from '@kestrel/core/util/log';
import { loadDataset } from '../data/dataset.js';
import { fitness, train } from '../train/trainer.js';
import type { TrainOptions } from '../train/options.js';
import { kFoldSplits } from './folds.js';
import { applyParams, type Params } from './space.js';

/** The training options every trial shares (what the search does not vary). */
export type BaseTrainOptions = Omit<TrainOptions, 'data' | 'splits' | 'resume' | 'logger' | 'progress' | 'project' | 'name' | 'existOk'>;

export interface TrialSpec {
  search: string;
  index: number;
  params: Params;
  /** Absolute dataset path; with a queue every worker must see it (a shared folder). */
  data: string;
  folds: number;
  seed: number;
  base: BaseTrainOptions;
  /** Where the trial's run folders go: <folder>/trial-<i>-fold-<k>. */
  folder: string;
}

export interface FoldResult {
  fold: number;
  map50: number;
  map50to95: number;
  fitness: number;
  bestEpoch: number;
  seconds: number;
  runDir: string;
}

export interface TrialResult {
  index: number;
  params: Params;
  folds: FoldResult[];
  /** Mean over folds. */
  fitness: number;
  map50: number;
  map50to95: number;
  /** Standard deviation of the fold fitnesses. */
  fitnessStd: number;
  seconds: number;
  worker: string;
  /** Set when the trial failed (its folds are then empty). */
  error?: string;
}

export async function runTrial(spec: TrialSpec, logger: Logger): Promise<TrialResult> {
  const started = Date.now();
  const ds = loadDataset(spec.data);
  const splits = kFoldSplits(ds, spec.folds, spec.seed);
  const options = applyParams({ ...spec.base, data: spec.data }, spec.params);
  const folds: FoldResult[] = [];
  for (const [fold, foldSplits] of splits.entries()) {
    const r = await train({
      ...options, splits: foldSplits, seed: spec.seed, project: spec.folder, name: `trial-${spec.index}-fold-${fold}`, existOk: true, progress: false,
      logger: logger.child({ trial: spec.index, fold }),
    });
    folds.push({ fold, map50: r.metrics.map50, map50to95: r.metrics.map50to95, fitness: fitness(r.metrics), bestEpoch: r.bestEpoch, seconds: r.seconds, runDir: r.runDir });
    logger.info({ trial: spec.index, fold, map50: r.metrics.map50, map50to95: r.metrics.map50to95 }, 'fold done');
  }
  const mean = (f: (x: FoldResult) => number): number => folds.reduce((s, x) => s + f(x), 0) / folds.length;
  const m = mean((x) => x.fitness);
  const std = Math.sqrt(folds.reduce((s, x) => s + (x.fitness - m) ** 2, 0) / folds.length);
  return {
    index: spec.index, params: spec.params, folds, fitness: m, map50: mean((x) => x.map50), map50to95: mean((x) => x.map50to95), fitnessStd: std,
    seconds: Math.round((Date.now() - started) / 1000), worker: workerName(),
  };
}

export function failedTrial(spec: Pick<TrialSpec, 'index' | 'params'>, error: string, worker = workerName()): TrialResult {
  return { index: spec.index, params: spec.params, folds: [], fitness: Number.NaN, map50: Number.NaN, map50to95: Number.NaN, fitnessStd: Number.NaN, seconds: 0, worker, error };
}

/**
 * A trial whatever happens: one bad point of the space (say, a batch too large for memory) is
 * recorded as failed with its reason, and the search goes on.
 */
export async function runTrialOrFail(spec: TrialSpec, logger: Logger): Promise<TrialResult> {
  try {
    return await runTrial(spec, logger);
  } catch (err) {
    logger.warn({ trial: spec.index, err: (err as Error).message }, 'trial failed');
    return failedTrial(spec, (err as Error).message);
  }
}

/** Which process ran a trial: host and pid, so a shared search shows who did what. */
export function workerName(): string {
  return `${hostname()}:${process.pid}`;
}

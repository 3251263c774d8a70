// `kestrel prune`, top to bottom: for each sparsity, prune the checkpoint (prune.ts), fine-tune
// the smaller detector (train() from the pruned checkpoint), export it, quantize it to INT8 (the
// quantize part, as `kestrel quantize` does), score FP32 and INT8 on a held-out split, and time
// every model on ONNX Runtime; sparsity 0 is the checkpoint as given. The table and prune.json go
// to the run folder (runs/prune/exp).
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { quantizeModel, benchmarkModels, type BenchmarkResult } from '@kestrel/quantize';
import type { TensorFeed } from '@kestrel/quantize';
import { loadImageTensor } from '@kestrel/quantize/calib/images';
import { KestrelError } from '@kestrel/core/util/errors';
import { createLogger, type Logger } from '@kestrel/core/util/log';
import { selectBackend } from '../backend/select.js';
import { loadDataset, splitItems } from '../data/dataset.js';
import { effectiveSplits } from '../data/split.js';
import type { DatasetItem, SplitName } from '../data/types.js';
import { loadCheckpoint, readCheckpointFile, saveCheckpoint } from '../model/checkpoint.js';
import { detectorInputSpec } from '../model/metadata.js';
import { exportCheckpoint } from '../export/export-onnx.js';
import { evaluate } from '../eval/evaluate.js';
import { train } from '../train/trainer.js';
import type { TrainOptions } from '../train/options.js';
import { RunFolder } from '../train/run-folder.js';
import { resolveDetectorConfig, withSavedDefaults, type DetectorConfig } from '../model/config.js';
import { detectorSpec } from '../model/spec.js';
import { checkCriterion, checkMultiple, checkSparsity, pruneDetector, refuseImported, type Criterion, type PrunedLayer } from './prune.js';
import { detectorCost } from './structure.js';
import { pruneTable } from './table.js';

export interface PruneRunOptions {
  checkpoint: string;
  data: string;
  /** Sparsities to try besides 0 (the checkpoint as given); default 0.25 and 0.5. */
  sparsities?: number[];
  criterion?: Criterion;
  /** Round kept channels up to a multiple of this (default 1: the exact share). */
  multiple?: number;
  /** Fine-tuning epochs per pruned model (0: score the pruned model as cut). */
  epochs?: number;
  batch?: number;
  lr?: number;
  /** Split the table's mAP is measured on (default: test when the dataset has one, else val). */
  split?: SplitName;
  /** ONNX Runtime intra-op threads for the timing (default 1). */
  threads?: number;
  /** Alternating timing rounds and timed runs per round (benchmarkModels' defaults: 3 and 30). */
  rounds?: number;
  iterations?: number;
  /** Calibration images for INT8, from the train split (default 100). */
  calibrationImages?: number;
  /** Data-parallel training threads (train()'s default when absent). */
  trainThreads?: number;
  seed?: number;
  project?: string;
  name?: string;
  logger?: Logger;
  progress?: boolean;
}

export interface PruneRow {
  sparsity: number;
  /** Share of the prunable layers' channels actually removed (each layer keeps a minimum). */
  channelsRemoved: number;
  params: number;
  macs: number;
  checkpoint: string;
  fp32: string;
  int8: string;
  fp32Ms: number;
  int8Ms: number;
  /** The original's FP32 ms over this row's FP32 ms, and the same for INT8. */
  speedupFp32: number;
  speedupInt8: number;
  map50: number;
  map50to95: number;
  int8Map50: number;
  int8Map50to95: number;
  /** FP32 mAP@0.5 of the pruned model before fine-tuning (absent at sparsity 0). */
  prunedMap50?: number;
  layers: PrunedLayer[];
}

export interface PruneReport {
  runDir: string;
  checkpoint: string;
  data: string;
  split: SplitName;
  images: number;
  criterion: Criterion;
  multiple: number;
  epochs: number;
  threads: number;
  rows: PruneRow[];
  /** Round medians of some model differed by over 15%: other load disturbed the timing. */
  noisy: boolean;
  cpu: BenchmarkResult['cpu'];
  seconds: number;
}

export const PRUNE_DEFAULTS = { sparsities: [0.25, 0.5], criterion: 'bn' as Criterion, multiple: 1, epochs: 10, calibrationImages: 100, threads: 1, project: 'runs/prune', name: 'exp' };

export async function runPrune(o: PruneRunOptions): Promise<PruneReport> {
  const started = Date.now();
  const logger = o.logger ?? createLogger('prune');
  const criterion = checkCriterion(o.criterion ?? PRUNE_DEFAULTS.criterion, '--criterion');
  const sparsities = [...new Set([0, ...(o.sparsities ?? PRUNE_DEFAULTS.sparsities).map((s) => checkSparsity(s, '--sparsity'))])].sort((a, b) => a - b);
  const multiple = checkMultiple(o.multiple ?? PRUNE_DEFAULTS.multiple, '--multiple');
  const epochs = o.epochs ?? PRUNE_DEFAULTS.epochs;
  if (!Number.isInteger(epochs) || epochs < 0) throw new KestrelError('E_PRUNE_OPTIONS', `--epochs must be a whole number of fine-tuning epochs (0: none), got ${epochs}`);
  const threads = o.threads ?? PRUNE_DEFAULTS.threads;
  const file = readCheckpointFile(o.checkpoint);
  const ds = loadDataset(o.data);
  refuseImported(file.config, o.checkpoint);
  const labels = file.config.labels;
  if (ds.classes.join('\n') !== labels.join('\n')) {
    throw new KestrelError('E_PRUNE_DATA', `${o.data} has the classes ${ds.classes.join(', ')}, but ${o.checkpoint} detects ${labels.join(', ')}: pruning is measured on the data the model was trained for`);
  }
  if (file.config.inputHeight !== file.config.inputWidth) {
    throw new KestrelError('E_PRUNE_OPTIONS', `${o.checkpoint} takes ${file.config.inputWidth}x${file.config.inputHeight} images; fine-tuning (kestrel train) trains square inputs only`);
  }
  // Fine-tuning sees the data as the original training did: its augmentation, crops and class weighting.
  const recipe = trainingRecipe(file.state.args);
  const splits = effectiveSplits(ds, o.seed ?? 0);
  const split: SplitName = o.split ?? (splits.test.length > 0 ? 'test' : 'val');
  const scored = splitItems({ ...ds, splits }, split);
  if (scored.length === 0) throw new KestrelError('E_DATASET_EMPTY', `${o.data} has no ${split} images to measure mAP on`);
  const calibration = splitItems({ ...ds, splits }, 'train').slice(0, o.calibrationImages ?? PRUNE_DEFAULTS.calibrationImages);
  if (calibration.length === 0) throw new KestrelError('E_DATASET_EMPTY', `${o.data} has no train images to calibrate INT8 on`);

  await selectBackend({ logger });
  const run = RunFolder.create(o.project ?? PRUNE_DEFAULTS.project, o.name ?? PRUNE_DEFAULTS.name);
  logger.info({ checkpoint: o.checkpoint, sparsities, criterion, epochs, run: run.dir }, 'pruning');

  const pending: Array<Omit<PruneRow, 'fp32Ms' | 'int8Ms' | 'speedupFp32' | 'speedupInt8'>> = [];
  for (const sparsity of sparsities) {
    const tag = `s${Math.round(sparsity * 100)}`;
    const dir = join(run.dir, tag);
    mkdirSync(dir, { recursive: true });
    let checkpoint = o.checkpoint;
    let config: DetectorConfig;
    let layers: PrunedLayer[] = [];
    let prunedMap50: number | undefined;
    if (sparsity === 0) {
      config = resolveDetectorConfig(withSavedDefaults(file.config));
    } else {
      const { model } = await loadCheckpoint(o.checkpoint);
      const pruned = pruneDetector(model, { sparsity, criterion, multiple });
      model.net.dispose();
      layers = pruned.layers;
      config = pruned.model.config;
      const cut = join(dir, 'pruned');
      await saveCheckpoint(cut, pruned.model, { epoch: 0, step: 0, bestFitness: -1, bestEpoch: -1, ...(file.state.datasetHash ? { datasetHash: file.state.datasetHash } : {}) });
      pruned.model.net.dispose();
      const cutOnnx = join(dir, 'pruned.onnx');
      await exportCheckpoint({ checkpoint: cut, output: cutOnnx, name: `kestrel-pruned-${tag}` });
      prunedMap50 = (await evaluate({ model: cutOnnx, data: o.data, split, seed: o.seed })).metrics.map50;
      logger.info({ sparsity, mAP50: prunedMap50 }, 'pruned, before fine-tuning');
      checkpoint = cut;
      if (epochs > 0) {
        const tuned = await train({
          ...recipe, data: o.data, from: cut, epochs, imgsz: config.inputHeight, project: dir, name: 'finetune', existOk: true, logger, progress: o.progress,
          ...(o.batch !== undefined ? { batch: o.batch } : {}), ...(o.lr !== undefined ? { lr: o.lr } : {}), ...(o.seed !== undefined ? { seed: o.seed } : {}), ...(o.trainThreads !== undefined ? { threads: o.trainThreads } : {}),
        });
        checkpoint = tuned.best;
      }
    }
    const fp32 = join(dir, 'model.onnx');
    const int8 = join(dir, 'model.int8.onnx');
    await exportCheckpoint({ checkpoint, output: fp32, name: sparsity === 0 ? 'kestrel-detector' : `kestrel-pruned-${tag}` });
    await quantizeModel(fp32, { output: int8, calibrationData: calibrationFeeds(calibration, config), calibrationDataCount: calibration.length, agreement: false, benchmark: false, threads, logger });
    const m32 = (await evaluate({ model: fp32, data: o.data, split, seed: o.seed })).metrics;
    const m8 = (await evaluate({ model: int8, data: o.data, split, seed: o.seed })).metrics;
    const cost = detectorCost(config, detectorSpec(config));
    const before = layers.reduce((n, l) => n + l.before, 0);
    pending.push({
      sparsity, channelsRemoved: before > 0 ? layers.reduce((n, l) => n + l.before - l.after, 0) / before : 0, params: cost.params, macs: cost.macs,
      checkpoint, fp32, int8, map50: m32.map50, map50to95: m32.map50to95, int8Map50: m8.map50, int8Map50to95: m8.map50to95, ...(prunedMap50 !== undefined ? { prunedMap50 } : {}), layers,
    });
    logger.info({ sparsity, params: cost.params, mAP50: m32.map50, int8mAP50: m8.map50 }, 'scored');
  }

  // Every model timed in its own child process, alternating round by round (quantize's benchmark).
  const bench = await benchmarkModels(pending.flatMap((r) => [{ label: `fp32@${r.sparsity}`, path: r.fp32 }, { label: `int8@${r.sparsity}`, path: r.int8 }]), {
    threads, ...(o.rounds !== undefined ? { rounds: o.rounds } : {}), ...(o.iterations !== undefined ? { iterations: o.iterations } : {}),
    input: await loadImageTensor(scored[0].imagePath, detectorInputSpec(file.config)),
  });
  const ms = (label: string): number => bench.models.find((m) => m.label === label)!.medianMs;
  const base = { fp32: ms('fp32@0'), int8: ms('int8@0') };
  const rows: PruneRow[] = pending.map((r) => {
    const fp32Ms = ms(`fp32@${r.sparsity}`), int8Ms = ms(`int8@${r.sparsity}`);
    return { ...r, fp32Ms, int8Ms, speedupFp32: base.fp32 / fp32Ms, speedupInt8: base.int8 / int8Ms };
  });
  const report: PruneReport = {
    runDir: run.dir, checkpoint: o.checkpoint, data: ds.root, split, images: scored.length, criterion, multiple, epochs, threads, rows, noisy: bench.noisy, cpu: bench.cpu, seconds: Math.round((Date.now() - started) / 1000),
  };
  run.writeJson('prune.json', report);
  run.write('prune.txt', pruneTable(report) + '\n');
  return report;
}

/** What of the original run's train() arguments fine-tuning keeps: how it saw the data, not how long or how fast it learned. */
export function trainingRecipe(args: Record<string, unknown> | undefined): Partial<TrainOptions> {
  if (!args) return {};
  const keep = ['augment', 'cropSize', 'classBalanced', 'closeMosaic'] as const;
  return Object.fromEntries(keep.filter((k) => args[k] !== undefined && args[k] !== null).map((k) => [k, args[k]])) as Partial<TrainOptions>;
}

/** Train-split frames preprocessed as the model's metadata says, for INT8 calibration. */
async function* calibrationFeeds(items: readonly DatasetItem[], config: DetectorConfig): AsyncGenerator<TensorFeed> {
  const spec = detectorInputSpec(config);
  for (const it of items) yield { input: { data: await loadImageTensor(it.imagePath, spec), dims: [1, 3, config.inputHeight, config.inputWidth] } };
}

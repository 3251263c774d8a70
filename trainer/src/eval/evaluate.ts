// `kestrel eval`: score a model (ONNX file or TF.js checkpoint) on a dataset split with core's
// COCO-style metrics. The same function serves validation during training.
import { existsSync, statSync } from 'node:fs';
import { evaluateDetections } from '@kestrel/core/eval/metrics';
import type { DetectionMetrics, ImageGroundTruth, ImagePredictions } from '@kestrel/core/eval/types';
import { KestrelError } from '@kestrel/core/util/errors';
import { loadDataset, splitItems } from '../data/dataset.js';
import { effectiveSplits } from '../data/split.js';
import type { Dataset, DatasetItem, SplitName } from '../data/types.js';
import { isCheckpoint, loadCheckpoint } from '../model/checkpoint.js';
import { selectBackend } from '../backend/select.js';
import { imageSize } from '../data/image.js';
import { CheckpointPredictor, OnnxPredictor, type Predictor } from './predictors.js';
import { createRunDir } from '@kestrel/core/util/run-dir';
import { writeValidationReport } from '../report/run-report.js';
import { RunFolder } from '../train/run-folder.js';
import { driftBaselineOf, writeModelWithBaseline } from './drift-baseline.js';

export interface EvaluateOptions {
  /** An .onnx file or a checkpoint folder. */
  model: string;
  data: string;
  split?: SplitName;
  /** Seed of the split when the dataset defines none (the same default as training). */
  seed?: number;
  batch?: number;
  threads?: number;
  /** Write a run folder (`<project>/<name>`, name2, ... as createRunDir makes it) with the plots. */
  run?: { project: string; name: string; existOk?: boolean };
  /**
   * Write a copy of the (ONNX) model to `out` carrying the drift baseline of this split
   * (`kestrel.drift_baseline`): the histograms the agent compares its cameras with.
   */
  baseline?: { out: string; minScore: number };
}

export interface EvalRun {
  metrics: DetectionMetrics;
  predictions: ImagePredictions[];
  truths: ImageGroundTruth[];
  msPerImage: number;
}

export interface EvalReport {
  model: string;
  modelKind: 'checkpoint' | 'onnx';
  data: string;
  split: SplitName;
  images: number;
  labels: string[];
  msPerImage: number;
  metrics: DetectionMetrics;
  /** The run folder with PR curves, confusion matrix, sample predictions, val_metrics.json. */
  runDir?: string;
  /** The model written with its drift baseline (`baseline` option). */
  baseline?: { path: string; frames: number; classes: number; detections: number; minScore: number };
}

export async function evaluate(options: EvaluateOptions): Promise<EvalReport> {
  // Before the dataset is read: a baseline that could not be written is not worth a whole eval run.
  if (options.baseline) checkBaselineOptions(options.model, options.baseline);
  const ds = loadDataset(options.data);
  const split = options.split ?? 'test';
  const splits = effectiveSplits(ds, options.seed ?? 0);
  const items = splitItems({ ...ds, splits }, split);
  if (items.length === 0) throw new KestrelError('E_DATASET_EMPTY', `${options.data} has no ${split} split; ${describeSplits(splits, split)}`);
  const predictor = await openPredictor(options.model, options.batch, options.threads);
  try {
    const run = await evaluatePredictor(predictor, items, ds);
    const report: EvalReport = { model: options.model, modelKind: predictor.kind, data: ds.root, split, images: items.length, labels: predictor.meta.labels, msPerImage: run.msPerImage, metrics: run.metrics };
    if (options.run) {
      // Made once the figures exist: a refused model or dataset leaves no empty folder behind.
      const folder = new RunFolder(createRunDir(options.run.project, options.run.name, options.run.existOk));
      await writeValidationReport(folder, run.metrics, run.predictions, run.truths, items, predictor.meta.labels);
      report.runDir = folder.dir;
    }
    if (options.baseline) {
      const baseline = await driftBaselineOf(run.predictions, items, options.baseline.minScore, `eval ${ds.root} ${split}`);
      await writeModelWithBaseline(options.model, options.baseline.out, baseline);
      const detections = Object.values(baseline.classes).reduce((n, c) => n + c.score.reduce((a, b) => a + b, 0), 0);
      report.baseline = { path: options.baseline.out, frames: baseline.frames, classes: Object.keys(baseline.classes).length, detections, minScore: baseline.minScore };
    }
    return report;
  } finally {
    await predictor.close();
  }
}

function checkBaselineOptions(model: string, baseline: { out: string; minScore: number }): void {
  if (!model.endsWith('.onnx') || (existsSync(model) && statSync(model).isDirectory())) {
    throw new KestrelError('E_USAGE', `--baseline-out writes an ONNX model with its drift baseline; ${model} is not an .onnx file (export the checkpoint first: kestrel export)`);
  }
  if (!baseline.out.endsWith('.onnx')) throw new KestrelError('E_USAGE', `--baseline-out must name an .onnx file, got "${baseline.out}"`);
  if (!(baseline.minScore >= 0 && baseline.minScore < 1)) throw new KestrelError('E_USAGE', `--baseline-min-score must be at least 0 and below 1, got ${baseline.minScore}`);
}

export async function openPredictor(path: string, batch?: number, threads?: number): Promise<Predictor> {
  if (!existsSync(path)) throw new KestrelError('E_MODEL_MISSING', `model ${path} does not exist`);
  if (statSync(path).isDirectory()) {
    if (!isCheckpoint(path)) throw new KestrelError('E_CHECKPOINT', `${path} is a folder but not a Kestrel checkpoint`);
    await selectBackend();
    const { model } = await loadCheckpoint(path);
    return new CheckpointPredictor(model, batch);
  }
  return OnnxPredictor.load(path, threads);
}

/** Runs the predictor over `items` and scores it against their labels (classes matched by name). */
export async function evaluatePredictor(predictor: Predictor, items: readonly DatasetItem[], ds: Pick<Dataset, 'classes' | 'root'>): Promise<EvalRun> {
  const labels = predictor.meta.labels;
  const toModel = ds.classes.map((name) => labels.indexOf(name));
  const missing = ds.classes.filter((_, i) => toModel[i] < 0);
  if (missing.length > 0) {
    throw new KestrelError('E_EVAL_LABELS', `the model does not know the dataset's classes ${missing.join(', ')} (model labels: ${labels.join(', ')})`);
  }
  const predictions: ImagePredictions[] = [];
  const truths: ImageGroundTruth[] = [];
  for await (const r of predictor.predict(items)) predictions.push({ imageId: r.item.id, detections: r.detections });
  for (const item of items) truths.push({ imageId: item.id, boxes: await truthInPixels(item, toModel) });
  const metrics = evaluateDetections(predictions, truths, { labels });
  return { metrics, predictions, truths, msPerImage: predictor.msPerImage };
}

async function truthInPixels(item: DatasetItem, toModel: number[]): Promise<ImageGroundTruth['boxes']> {
  const { width, height } = await imageSize(item.imagePath);
  return item.boxes.map(({ classId, box }) => ({ classId: toModel[classId], box: [box[0] * width, box[1] * height, box[2] * width, box[3] * height] }));
}

/** "its splits: train (40 images), val (5 images); choose one with --split val" */
function describeSplits(splits: Record<SplitName, string[]>, wanted: SplitName): string {
  const present = (Object.keys(splits) as SplitName[]).filter((s) => splits[s].length > 0);
  if (present.length === 0) return 'it has no images in any split';
  const list = present.map((s) => `${s} (${splits[s].length} image${splits[s].length === 1 ? '' : 's'})`).join(', ');
  const pick = present.includes('val') ? 'val' : present[0];
  return `its splits: ${list}; choose one with --split ${pick}${wanted === 'test' ? ', or make a test split with kestrel dataset split' : ''}`;
}

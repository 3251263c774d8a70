// `kestrel train`, top to bottom: data, model (new, fine-tuned or resumed), the epoch loop with
// warm-up + cosine learning rate, EMA weights, validation, checkpoints and early stopping, then
// the run folder's report. Ultralytics' trainer is the model for the experience.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { availableParallelism } from 'node:os';
import * as tf from '@tensorflow/tfjs';
import { KestrelError } from '@kestrel/core/util/errors';
import { createLogger, type Logger } from '@kestrel/core/util/log';
import type { DetectionMetrics, ImageGroundTruth, ImagePredictions } from '@kestrel/core/eval/types';
import { selectBackend, describeBackend, type BackendChoice } from '../backend/select.js';
import { datasetHash, loadDataset, splitItems } from '../data/dataset.js';
import { effectiveSplits } from '../data/split.js';
import { DEFAULT_AUGMENT, type AugmentOptions } from '../data/augment/pipeline.js';
import { SampleCache, TrainBatches, type TrainBatchOptions } from '../data/loader.js';
import { showAugmented } from '../data/show.js';
import type { Dataset } from '../data/types.js';
import { buildDetector, type KestrelModel } from '../model/build.js';
import { defaultBoxBins, resolveDetectorConfig } from '../model/config.js';
import { loadOnnxDetector, recalibrateBatchNorm } from '../model/onnx-import.js';
import { isCheckpoint, loadCheckpoint, readCheckpointFile, saveCheckpoint, type NamedTensor, type TrainingState } from '../model/checkpoint.js';
import { classBalancedWeights } from '../model/loss.js';
import { CheckpointPredictor } from '../eval/predictors.js';
import { OnnxValidator } from '../eval/onnx-validation.js';
import { evaluatePredictor } from '../eval/evaluate.js';
import { curvesPng, writeValidationReport } from '../report/run-report.js';
import { WeightEma } from './ema.js';
import { resolveTrainOptions, stripUndefined, type ResolvedTrainOptions, type TrainOptions } from './options.js';
import { createProgress } from './progress.js';
import { RunFolder, type EpochMetrics } from './run-folder.js';
import { learningRateAt, type LrSchedule } from './schedule.js';
import { TrainStep } from './step.js';
import { ValidationLoss } from './val-loss.js';
import { DataParallelStep } from './data-parallel.js';
import { ReplicaPool } from './replica/pool.js';

export interface TrainResult {
  runDir: string;
  best: string;
  last: string;
  backend: string;
  epochs: number;
  bestEpoch: number;
  stoppedEarly: boolean;
  seconds: number;
  datasetHash: string;
  /** Validation metrics of the best weights. */
  metrics: DetectionMetrics;
}

/** Ultralytics' fitness: mostly mAP@0.5:0.95, a little mAP@0.5. */
export function fitness(m: Pick<DetectionMetrics, 'map50' | 'map50to95'>): number {
  return 0.1 * (m.map50 || 0) + 0.9 * (m.map50to95 || 0);
}

export async function train(input: TrainOptions): Promise<TrainResult> {
  const logger = input.logger ?? createLogger('train');
  const resumed = input.resume ? resumeSource(input.resume) : undefined;
  const o = resolveTrainOptions(resumed ? { ...(resumed.state.args as unknown as TrainOptions), ...stripUndefined(input), resume: input.resume } : input);
  const backend = await selectBackend({ logger });

  const ds = loadDataset(o.data);
  const splits = o.splits ?? effectiveSplits(ds, o.seed);
  const trainItems = splitItems({ ...ds, splits }, 'train');
  const valItems = splitItems({ ...ds, splits }, 'val');
  const hash = datasetHash(ds);
  logger.info({ dataset: ds.root, train: trainItems.length, val: valItems.length, classes: ds.classes.length, hash }, 'dataset');

  const { model, startEpoch, state, optimizerWeights, run, foldedBatchNorm } = await prepareModel(o, ds, resumed, logger);
  const classCounts = ds.classes.map((_, c) => trainItems.reduce((n, it) => n + it.boxes.filter((b) => b.classId === c).length, 0));
  const classWeights = o.classBalanced ? classBalancedWeights(classCounts) : ds.classes.map(() => 1);
  const threads = trainingThreads(o, backend.choice);
  run.writeJson('args.json', { ...serialisableArgs(o), threads, backend: backend.choice, datasetHash: hash, classes: ds.classes, classWeights, detector: model.config });

  const augment: AugmentOptions = { ...DEFAULT_AUGMENT, ...o.augment };
  // What the model is about to see, as Ultralytics' train_batch picture: wrong labels show here.
  if (startEpoch === 0) await showAugmented({ ...ds, splits }, { output: run.path('train_batch.png'), count: Math.min(16, Math.max(4, o.batch)), imgsz: o.imgsz, seed: o.seed, augment });
  const batchOptions: TrainBatchOptions = { size: o.imgsz, crop: o.cropSize, cropClassWeights: classWeights, batch: o.batch, augment, seed: o.seed };
  const batches = new TrainBatches(trainItems, new SampleCache(o.imgsz), batchOptions);
  // With --crop, a second network of the crop size trains; `model` (the deploy size) gets its
  // weights for validation and checkpoints. Same layers, so the weights are interchangeable.
  const trainNet = o.cropSize && o.cropSize < o.imgsz ? buildDetector({ ...model.config, inputHeight: o.cropSize, inputWidth: o.cropSize }) : model;
  const syncDeploy = (): void => {
    if (trainNet !== model) model.net.setWeights(trainNet.net.getWeights());
  };
  if (trainNet !== model) trainNet.net.setWeights(model.net.getWeights());
  if (foldedBatchNorm) {
    // An exported model's BatchNorms are folded away: measure them again on this data first.
    const iterator = batches.epoch(0, augment);
    const first = await iterator.next();
    await iterator.return(undefined);
    if (!first.done) {
      const images = tf.tensor4d(first.value.images, [first.value.count, first.value.size, first.value.size, 3]);
      const layers = recalibrateBatchNorm(trainNet, images);
      images.dispose();
      syncDeploy();
      logger.info({ layers, images: first.value.count }, 'BatchNorm statistics measured on the new data');
    }
  }
  const optimizer = tf.train.adam(o.lr);
  const step = new TrainStep(trainNet, optimizer, classWeights, o.temperature);
  if (optimizerWeights && !(await step.restoreOptimizer(optimizerWeights))) {
    logger.warn('the saved optimizer state does not fit this model; continuing with a fresh optimizer');
    tf.dispose(optimizerWeights.map((w) => w.tensor));
  }
  // The replicas are idle while validating: ONNX Runtime may use their cores.
  const validator = new OnnxValidator(valItems, ds, threads);
  const valLoss = new ValidationLoss(model, valItems, classWeights, o.temperature, o.valBatch);
  const ema = o.ema ? new WeightEma(trainNet) : undefined;
  const progress = createProgress(logger, o.progress);
  // Started last before the loop whose `finally` stops them: worker threads left running would
  // keep the process alive after an error.
  const replicas = threads > 1
    ? await ReplicaPool.start(threads - 1, { backend: backend.choice, items: trainItems, cacheSide: o.imgsz, batches: batchOptions, detector: trainNet.config, classWeights, temperature: o.temperature })
    : undefined;
  const parallelStep = new DataParallelStep(step, batches, replicas);

  let epochs = o.epochs;
  const schedule = (): LrSchedule => ({ lr: o.lr, totalSteps: epochs * batches.steps, warmupSteps: Math.min(o.warmupEpochs * batches.steps, 300), finalFraction: 0.05, warmupStartFraction: 0.1 });
  let best = state?.bestFitness ?? -1;
  let bestEpoch = state?.bestEpoch ?? -1;
  let globalStep = state?.step ?? 0;
  let stoppedEarly = false;
  const started = Date.now();
  let bestMetrics: DetectionMetrics | undefined;
  logger.info({ backend: describeBackend(backend), threads, epochs, steps: batches.steps, batch: o.batch, imgsz: o.imgsz, run: run.dir }, 'training');

  let epoch = startEpoch;
  try {
    for (; epoch < epochs; epoch++) {
      const epochStart = Date.now();
      const mosaicOff = epoch >= epochs - o.closeMosaic;
      const epochAugment = mosaicOff ? { ...augment, mosaic: 0 } : augment;
      progress.startEpoch(epoch, epochs, batches.steps);
      let sum = { total: 0, cls: 0, box: 0, dfl: 0 };
      let n = 0;
      let lr = 0;
      for (let s = 0; s < batches.steps; s++) {
        lr = learningRateAt(schedule(), globalStep);
        const l = await parallelStep.run(epoch, s, epochAugment, lr);
        if (!Number.isFinite(l.total)) throw new KestrelError('E_TRAIN_DIVERGED', `the loss became ${l.total} at epoch ${epoch + 1}; lower --lr (now ${o.lr})`);
        ema?.update();
        globalStep++;
        n++;
        sum = { total: sum.total + l.total, cls: sum.cls + l.cls, box: sum.box + l.box, dfl: sum.dfl + l.dfl };
        progress.step(n, { loss: sum.total / n, cls: sum.cls / n, box: sum.box / n, dfl: sum.dfl / n, lr });
      }
      const evaluateNow = async () => {
        syncDeploy();
        const scored = await validator.evaluate(model);
        return { ...scored, losses: await valLoss.compute() };
      };
      const val = ema ? await ema.withAveraged(evaluateNow) : await evaluateNow();
      const m: EpochMetrics = {
        // The loop counts from 0; everything a person reads counts from 1.
        epoch: epoch + 1, lr, trainLoss: sum.total / n, clsLoss: sum.cls / n, boxLoss: sum.box / n, dflLoss: sum.dfl / n,
        valLoss: val.losses.total, valClsLoss: val.losses.cls, valBoxLoss: val.losses.box, valDflLoss: val.losses.dfl,
        valMap50: val.metrics.map50, valMap50to95: val.metrics.map50to95, precision: val.metrics.precision, recall: val.metrics.recall, f1: val.metrics.f1,
        elapsed: (Date.now() - started) / 1000,
      };
      run.appendMetrics(m);
      const f = fitness(val.metrics);
      const improved = f > best;
      if (improved) {
        best = f;
        bestEpoch = epoch;
        bestMetrics = val.metrics;
      }
      const trainingState: TrainingState = { epoch, step: globalStep, bestFitness: best, bestEpoch, datasetHash: hash, args: serialisableArgs(o), metrics: { map50: val.metrics.map50, map50to95: val.metrics.map50to95 } };
      const save = async (): Promise<void> => {
        syncDeploy();
        if (improved) await saveCheckpoint(run.bestWeights, model, trainingState);
      };
      // The averaged weights are the ones worth keeping; the optimizer state belongs to the raw ones.
      if (ema) await ema.withAveraged(save);
      else await save();
      syncDeploy();
      await saveCheckpoint(run.lastWeights, model, trainingState, optimizer);
      progress.endEpoch(`epoch ${epoch + 1}/${epochs}: loss ${m.trainLoss.toFixed(3)}, val mAP@0.5 ${fmt(m.valMap50)}, mAP@0.5:0.95 ${fmt(m.valMap50to95)}${improved ? ' (best)' : ''}, ${((Date.now() - epochStart) / 1000).toFixed(0)} s`);

      if (o.timeMinutes !== undefined) {
        // Fit the run to the time budget at the pace so far (a shared machine speeds up and slows
        // down); the cosine schedule follows the new length.
        const minutes = (Date.now() - started) / 60000;
        const perEpoch = minutes / (epoch - startEpoch + 1);
        const fit = Math.min(o.epochs, Math.max(epoch + 1, epoch + 1 + Math.floor((o.timeMinutes - minutes) / perEpoch)));
        if (fit !== epochs) {
          logger.info({ epochs: fit, minutesPerEpoch: Math.round(perEpoch * 100) / 100 }, 'epochs fitted to the time budget');
          epochs = fit;
        }
      }
      if (epoch - bestEpoch >= o.patience) {
        logger.info({ epoch: epoch + 1, bestEpoch: bestEpoch + 1, patience: o.patience }, 'early stopping: no improvement');
        stoppedEarly = true;
        epoch++;
        break;
      }
    }
  } finally {
    await replicas?.stop();
    validator.close();
  }
  progress.stop();
  step.dispose();
  valLoss.dispose();
  ema?.dispose();
  if (trainNet !== model) trainNet.net.dispose();

  // Final report on the best weights.
  const { model: bestModel } = await loadCheckpoint(existsSync(run.bestWeights) ? run.bestWeights : run.lastWeights);
  const final = await evaluatePredictor(new CheckpointPredictor(bestModel, o.valBatch), valItems, ds);
  await writeReport(run, final.metrics, final.predictions, final.truths, valItems, ds.classes);
  const result: TrainResult = {
    runDir: run.dir, best: run.bestWeights, last: run.lastWeights, backend: backend.choice, epochs: epoch, bestEpoch: bestEpoch + 1, stoppedEarly,
    seconds: Math.round((Date.now() - started) / 1000), datasetHash: hash, metrics: bestMetrics ?? final.metrics,
  };
  run.writeJson('summary.json', { ...result, metrics: summariseMetrics(final.metrics) });
  bestModel.net.dispose();
  return result;
}

/**
 * Threads computing each step. The wasm and cpu backends compute on one core per instance, so by
 * default every core gets a data-parallel replica (up to 4: past that the averaging and the
 * smaller shares' BatchNorm statistics cost more than they give); TensorFlow's native backends
 * already use every core inside each op.
 */
export function trainingThreads(o: Pick<ResolvedTrainOptions, 'threads' | 'batch'>, backend: BackendChoice): number {
  if (o.threads !== undefined) return Math.min(o.threads, o.batch);
  if (backend === 'tensorflow' || backend === 'tensorflow-gpu') return 1;
  return Math.max(1, Math.min(availableParallelism(), 4, Math.floor(o.batch / 2)));
}

async function prepareModel(
  o: ResolvedTrainOptions,
  ds: Dataset,
  resumed: ReturnType<typeof resumeSource> | undefined,
  logger: Logger,
): Promise<{ model: KestrelModel; startEpoch: number; state?: TrainingState; optimizerWeights?: NamedTensor[]; run: RunFolder; foldedBatchNorm?: boolean }> {
  if (resumed) {
    const loaded = await loadCheckpoint(resumed.checkpoint);
    const run = new RunFolder(resumed.runDir);
    // The checkpoint's epoch is the loop's (from 0); the metrics count from 1.
    run.truncateMetrics(loaded.file.state.epoch + 1);
    logger.info({ run: run.dir, epoch: loaded.file.state.epoch + 1 }, 'resuming');
    return { model: loaded.model, startEpoch: loaded.file.state.epoch + 1, state: loaded.file.state, optimizerWeights: loaded.optimizerWeights, run };
  }
  // The run folder is made once the model loaded: a refused --from leaves no empty folder behind.
  const newRun = () => RunFolder.create(o.project, o.name, o.existOk);
  if (o.from && /\.onnx$/i.test(o.from) && !isCheckpoint(o.from)) {
    const imported = loadOnnxDetector(o.from, { labels: ds.classes, inputHeight: o.imgsz, inputWidth: o.imgsz });
    keepsBoxBins(o, imported.model, logger);
    const what = imported.model.config.network ? `an imported ${imported.model.config.network.family} model` : 'an exported model';
    logger.info({ from: o.from, reinitialised: imported.reinitialised }, imported.reinitialised.length > 0 ? `fine-tuning ${what}: new class head` : `fine-tuning ${what}`);
    return { model: imported.model, startEpoch: 0, run: newRun(), foldedBatchNorm: imported.foldedBatchNorm };
  }
  if (o.from) {
    if (!isCheckpoint(o.from)) throw new KestrelError('E_CHECKPOINT', `--from ${o.from} is neither a Kestrel checkpoint folder (weights/best of a run) nor an .onnx model (made by \`kestrel export\`, or an imported NanoDet)`);
    const loaded = await loadCheckpoint(o.from, { labels: ds.classes, inputHeight: o.imgsz, inputWidth: o.imgsz });
    loaded.optimizerWeights?.forEach((w) => w.tensor.dispose());
    keepsBoxBins(o, loaded.model, logger);
    logger.info({ from: o.from, reinitialised: loaded.reinitialised }, loaded.reinitialised.length > 0 ? 'fine-tuning: new class head' : 'fine-tuning');
    return { model: loaded.model, startEpoch: 0, run: newRun() };
  }
  const config = resolveDetectorConfig({ labels: ds.classes, inputHeight: o.imgsz, inputWidth: o.imgsz, width: o.width, block: o.block, ...(o.strides ? { strides: o.strides } : {}), ...(o.boxBins !== undefined ? { boxBins: o.boxBins } : {}) });
  return { model: buildDetector(config, o.seed), startEpoch: 0, run: newRun() };
}

/**
 * Fine-tuning keeps the model's box head: a different --box-bins would silently mean nothing, and
 * at a larger --imgsz than the head was sized for the largest objects' boxes come out clipped.
 */
function keepsBoxBins(o: ResolvedTrainOptions, model: KestrelModel, logger: Logger): void {
  const bins = model.config.boxBins;
  if (o.boxBins !== undefined && o.boxBins !== bins) {
    model.net.dispose();
    throw new KestrelError('E_FROM', `--box-bins ${o.boxBins}: ${o.from} predicts box sides with ${bins || 'one value'}${bins ? ' bins' : ''}, and fine-tuning keeps its head; train a new detector to change it`);
  }
  const wanted = defaultBoxBins(model.config);
  if (bins > 0 && bins < wanted) {
    const reach = (bins - 1) * Math.max(...model.config.strides);
    logger.warn({ from: o.from, boxBins: bins, imgsz: o.imgsz }, `at ${o.imgsz} px this model's box sides reach at most ${reach} px from an object's centre: boxes of larger objects come out clipped (a new detector at this size gets ${wanted} bins)`);
  }
}

function resumeSource(path: string): { runDir: string; checkpoint: string; state: TrainingState } {
  const checkpoint = isCheckpoint(path) ? path : join(path, 'weights', 'last');
  if (!isCheckpoint(checkpoint)) throw new KestrelError('E_RESUME', `cannot resume from ${path}: no weights/last checkpoint in it`);
  const file = readCheckpointFile(checkpoint);
  const runDir = isCheckpoint(path) ? join(path, '..', '..') : path;
  return { runDir, checkpoint, state: file.state };
}

async function writeReport(run: RunFolder, metrics: DetectionMetrics, predictions: ImagePredictions[], truths: ImageGroundTruth[], items: Dataset['items'], labels: string[]): Promise<void> {
  run.write('curves.png', await curvesPng(run.readMetrics()));
  await writeValidationReport(run, metrics, predictions, truths, items, labels);
}

export function summariseMetrics(m: DetectionMetrics): Record<string, unknown> {
  return {
    map50: m.map50, map50to95: m.map50to95, precision: m.precision, recall: m.recall, f1: m.f1, scoreThreshold: m.scoreThreshold,
    perClass: m.perClass.map((c) => ({ label: c.label, ap50: c.ap50, ap50to95: c.ap50to95, precision: c.precision, recall: c.recall, truths: c.truths })),
  };
}

function serialisableArgs(o: ResolvedTrainOptions): Record<string, unknown> {
  const { logger: _logger, ...rest } = o;
  return rest;
}


function fmt(v: number): string {
  return Number.isFinite(v) ? v.toFixed(3) : 'n/a';
}

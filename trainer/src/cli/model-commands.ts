import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { KestrelError } from '@kestrel/core/util/errors';
import { train } from '../train/trainer.js';
import { summariseMetrics } from '../train/trainer.js';
import { stripUndefined, type TrainOptions } from '../train/options.js';
import { readParamsFile } from '../tune/tune.js';
import { evaluate } from '../eval/evaluate.js';
import { exportCheckpoint } from '../export/export-onnx.js';
import { distill } from '../distill/distill.js';
import type { SplitName } from '../data/types.js';
import { isBoxBins, MAX_BOX_BINS } from '../model/config.js';
import { action, printJson } from '@kestrel/core/util/cli';
import { int, list, num, positive } from './flags.js';

interface TrainFlags {
  data?: string;
  from?: string;
  resume?: string;
  epochs?: string;
  batch?: string;
  imgsz?: string;
  crop?: string;
  lr?: string;
  width?: string;
  block?: string;
  boxBins?: string;
  patience?: string;
  time?: string;
  seed?: string;
  threads?: string;
  mosaic?: string;
  scale?: string;
  fliplr?: string;
  flipud?: string;
  project?: string;
  name?: string;
  existOk?: boolean;
  params?: string;
  json?: boolean;
}

export function registerModelCommands(program: Command): void {
  program
    .command('train')
    .description('train (or fine-tune, or resume) a Kestrel detector; writes a run folder with weights, metrics and plots')
    .option('--data <path>', 'dataset: its folder (with dataset.json or data.yaml) or its data.yaml')
    .option('--from <model>', 'fine-tune from a checkpoint, an .onnx made by kestrel export, or an imported NanoDet such as models/nanodet-416.onnx (new classes re-initialise only the class head)')
    .option('--resume <run>', 'continue an interrupted run (its folder)')
    .option('--epochs <n>', 'epochs (default 30)')
    .option('--batch <n>', 'batch size (default 16)')
    .option('--imgsz <px>', 'square input size, a multiple of 32 (default 320)')
    .option('--crop <px>', 'train on crops of this size around objects (small objects, faster steps)')
    .option('--lr <x>', 'peak learning rate (default 0.002)')
    .option('--width <x>', 'channel multiplier of the detector (default 1)')
    .option('--block <b>', 'conv | dws (depthwise-separable)')
    .option('--box-bins <n>', 'bins per box side: each side a distribution over 0..n-1 strides (default: enough for an object as large as the input, at least 8; 0: one regressed value)')
    .option('--patience <n>', 'stop after this many epochs without improvement (default 15)')
    .option('--time <minutes>', 'fit the run into this many minutes, wall clock (minutes, not hours as in Ultralytics\' time=); the epochs are cut to fit at the pace so far')
    .option('--seed <n>', 'random seed (splits, augmentation, initialisation)')
    .option('--threads <n>', 'threads computing each step, as data-parallel replicas (default: one per core on the wasm/cpu backends, up to 4)')
    .option('--mosaic <p>', 'probability of a 4-image mosaic (default 0.5; 0 for fixed cameras whose objects keep one scale)')
    .option('--scale <x>', 'random zoom of ± this share (default 0.35)')
    .option('--fliplr <p>', 'probability of a left-right flip (default 0.5)')
    .option('--flipud <p>', 'probability of a top-bottom flip (default 0; top-down views such as belts and drones can use 0.5)')
    .option('--project <dir>', 'where run folders go (default runs/train)')
    .option('--name <name>', 'run folder name (default exp; exp2, exp3... if taken)')
    .option('--exist-ok', 'reuse the run folder')
    .option('--params <best.json>', 'start from the options a `kestrel tune` search found best (flags given here win)')
    .option('--json', 'print one JSON document on stdout')
    .action(action(async (f: TrainFlags) => {
      if (!f.data && !f.resume) throw new KestrelError('E_USAGE', 'train needs --data <dataset> (or --resume <run>)');
      if (f.block && f.block !== 'conv' && f.block !== 'dws') throw new KestrelError('E_USAGE', `--block must be conv or dws, got "${f.block}"`);
      const share = (v: string | undefined, flag: string): number | undefined => num(v, flag, (n) => n >= 0 && n <= 1, 'in [0, 1]');
      const augment = stripUndefined({ mosaic: share(f.mosaic, '--mosaic'), scale: num(f.scale, '--scale', (n) => n >= 0 && n < 1, 'in [0, 1)'), flipLR: share(f.fliplr, '--fliplr'), flipUD: share(f.flipud, '--flipud') });
      const tuned: Omit<TrainOptions, 'data'> = f.params ? readParamsFile(f.params, (p) => readFileSync(p, 'utf8')) : {};
      const r = await train({
        ...tuned,
        ...stripUndefined({
          data: f.data as string, from: f.from, resume: f.resume, augment: Object.keys(augment).length > 0 || tuned.augment ? { ...tuned.augment, ...augment } : undefined,
          epochs: int(f.epochs, '--epochs'), batch: int(f.batch, '--batch'), imgsz: int(f.imgsz, '--imgsz'), cropSize: int(f.crop, '--crop'), lr: positive(f.lr, '--lr'),
          width: positive(f.width, '--width'), block: f.block as 'conv' | 'dws' | undefined, boxBins: num(f.boxBins, '--box-bins', isBoxBins, `0, or a whole number from 2 to ${MAX_BOX_BINS}`), patience: int(f.patience, '--patience'),
          timeMinutes: positive(f.time, '--time'), seed: num(f.seed, '--seed', Number.isInteger, 'an integer'), threads: int(f.threads, '--threads'), project: f.project, name: f.name, existOk: f.existOk,
          progress: f.json ? false : undefined,
        }),
      } as TrainOptions);
      const out = { ...r, metrics: summariseMetrics(r.metrics) };
      if (f.json) printJson(out);
      else process.stdout.write(`best: ${r.best}\nval mAP@0.5 ${r.metrics.map50.toFixed(3)}, mAP@0.5:0.95 ${r.metrics.map50to95.toFixed(3)} (epoch ${r.bestEpoch} of ${r.epochs}, ${r.seconds} s)\nrun folder: ${r.runDir}\n`);
    }));

  program
    .command('eval')
    .description('mAP@0.5, mAP@0.5:0.95, per-class AP, P/R/F1 and confusion matrix of an ONNX model or checkpoint; writes a run folder (runs/val/exp, exp2, ...) with its plots')
    .requiredOption('--model <path>', 'model.onnx (FP32 or INT8) or a checkpoint folder')
    .requiredOption('--data <path>', 'dataset: its folder or its data.yaml')
    .option('--split <s>', 'train | val | test', 'test')
    .option('--batch <n>', 'checkpoint batch size', '8')
    .option('--threads <n>', 'ONNX Runtime intra-op threads')
    .option('--project <dir>', 'where run folders go', 'runs/val')
    .option('--name <name>', 'run folder name; name2, name3, ... when taken', 'exp')
    .option('--exist-ok', 'write into an existing run folder instead of making name2')
    .option('--no-plots', 'no run folder: print (or --json) the figures only')
    .option('--baseline-out <model.onnx>', 'also write the model with this split\'s drift baseline (kestrel.drift_baseline) to this file: what the agent compares its cameras with')
    .option('--baseline-min-score <s>', 'the lowest score the baseline counts: the cameras\' filters.minScore', '0.35')
    .option('--json', 'print one JSON document on stdout')
    .action(action(async (f: { model: string; data: string; split: string; batch: string; threads?: string; project: string; name: string; existOk?: boolean; plots: boolean; baselineOut?: string; baselineMinScore: string; json?: boolean }) => {
      if (!['train', 'val', 'test'].includes(f.split)) throw new KestrelError('E_USAGE', `--split must be train, val or test, got "${f.split}"`);
      const r = await evaluate({
        model: f.model, data: f.data, split: f.split as SplitName, batch: int(f.batch, '--batch'), threads: int(f.threads, '--threads'),
        ...(f.plots && { run: { project: f.project, name: f.name, existOk: Boolean(f.existOk) } }),
        ...(f.baselineOut && { baseline: { out: f.baselineOut, minScore: Number(f.baselineMinScore) } }),
      });
      if (f.json) {
        printJson(r);
        return;
      }
      const m = r.metrics;
      const lines = [
        `${r.model} on ${r.split} (${r.images} images): mAP@0.5 ${m.map50.toFixed(3)}, mAP@0.5:0.95 ${m.map50to95.toFixed(3)}`,
        `best F1 ${m.f1.toFixed(3)} at score ${m.scoreThreshold.toFixed(2)}: precision ${m.precision.toFixed(3)}, recall ${m.recall.toFixed(3)}; ${r.msPerImage.toFixed(1)} ms/image`,
        ...m.perClass.map((c) => `  ${(c.label ?? String(c.classId)).padEnd(16)} AP50 ${c.ap50.toFixed(3)}  AP ${c.ap50to95.toFixed(3)}  P ${c.precision.toFixed(3)}  R ${c.recall.toFixed(3)}  (${c.truths} truths)`),
        ...(r.runDir ? [`run folder: ${r.runDir}`] : []),
        ...(r.baseline ? [`drift baseline (${r.baseline.frames} images, ${r.baseline.detections} detections at ${r.baseline.minScore} and up, ${r.baseline.classes} classes) written with the model to ${r.baseline.path}`] : []),
      ];
      process.stdout.write(lines.join('\n') + '\n');
    }));

  program
    .command('export')
    .description('export a checkpoint to ONNX with full kestrel.* metadata (decoder kestrel)')
    .argument('<checkpoint>', 'checkpoint folder (e.g. runs/train/exp/weights/best)')
    .option('-o, --out <file>', 'ONNX file to write (default: beside the checkpoint, weights/best → weights/best.onnx)')
    .option('--name <name>', 'model name in the metadata')
    .option('--model-version <v>', 'model version in the metadata (default: today)')
    .option('--json', 'print one JSON document on stdout')
    .action(action(async (checkpoint: string, f: { out?: string; name?: string; modelVersion?: string; json?: boolean }) => {
      const r = await exportCheckpoint({ checkpoint, output: f.out, name: f.name, version: f.modelVersion });
      if (f.json) printJson(r);
      else process.stdout.write(`wrote ${r.output} (${r.nodes} nodes, ${r.anchors} anchor points, ${r.metadata.labels.length} classes)\n`);
    }));

  program
    .command('distill')
    .description('label frames with a teacher ONNX detector and train a smaller Kestrel student on them')
    .requiredOption('--frames <dir>', 'unlabelled frames (a folder of images, e.g. the active-learning buffer)')
    .option('--teacher <onnx>', 'teacher model (default: the bundled NanoDet-416)')
    .option('--classes <a,b,...>', 'teacher classes the student learns (default: those the teacher finds)')
    .option('--box-threshold <s>', 'teacher score for a box to become a label', '0.35')
    .option('--temperature <t>', 'score distillation temperature', '2')
    .option('--holdout <f>', 'share of frames held out to compare student and teacher', '0.2')
    .option('--imgsz <px>', 'student input size', '320')
    .option('--width <x>', 'student width multiplier', '0.5')
    .option('--epochs <n>', 'epochs', '30')
    .option('--batch <n>', 'batch size', '16')
    .option('--time <minutes>', 'fit the training into this many minutes, wall clock (minutes, not hours as in Ultralytics\' time=)')
    .option('--threads <n>', 'ONNX Runtime threads for the speed comparison', '1')
    .option('--project <dir>', 'where the run folder goes', 'runs/distill')
    .option('--name <name>', 'run folder name', 'exp')
    .option('--json', 'print one JSON document on stdout')
    .action(action(async (f: Record<string, string | boolean | undefined>) => {
      const s = (k: string): string | undefined => f[k] as string | undefined;
      const r = await distill({
        frames: s('frames')!, teacher: s('teacher'), classes: list(s('classes')),
        boxThreshold: num(s('boxThreshold'), '--box-threshold', (n) => n > 0 && n < 1, 'between 0 and 1'),
        temperature: positive(s('temperature'), '--temperature'), holdout: num(s('holdout'), '--holdout', (n) => n >= 0 && n < 1, 'in [0, 1)'),
        imgsz: int(s('imgsz'), '--imgsz'), width: positive(s('width'), '--width'), epochs: int(s('epochs'), '--epochs'), batch: int(s('batch'), '--batch'),
        timeMinutes: positive(s('time'), '--time'), threads: int(s('threads'), '--threads'), project: s('project'), name: s('name'), progress: f.json ? false : undefined,
      });
      if (f.json) printJson(r);
      else process.stdout.write(`student ${r.student.onnx}: mAP@0.5 ${r.heldOut.map50.toFixed(3)} against the teacher on ${r.heldOut.frames} held-out frames; ${r.speed.studentMs} ms vs teacher ${r.speed.teacherMs} ms (${r.speed.speedup}× faster, ${r.speed.threads} thread(s))\n`);
    }));
}

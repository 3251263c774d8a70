// `kestrel distill`: the teacher labels frames (soft scores kept), a small Kestrel student trains
// on them with score distillation at a temperature, and the report compares the student with the
// teacher on held-out frames: mAP@0.5 against the teacher's labels, and speed on ONNX Runtime CPU.
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { BUNDLED_MODEL_PATH } from '@kestrel/core/model/bundled';
import { Detector } from '@kestrel/core/detect/detector';
import { createLogger, type Logger } from '@kestrel/core/util/log';
import { loadDataset, splitItems } from '../data/dataset.js';
import { train, summariseMetrics } from '../train/trainer.js';
import { exportCheckpoint } from '../export/export-onnx.js';
import { OnnxPredictor } from '../eval/predictors.js';
import { evaluatePredictor } from '../eval/evaluate.js';
import { labelWithTeacher } from './teacher.js';
import { RunFolder } from '../train/run-folder.js';
import type { DatasetItem } from '../data/types.js';

export interface DistillOptions {
  teacher?: string;
  frames: string;
  classes?: string[];
  boxThreshold?: number;
  temperature?: number;
  holdout?: number;
  imgsz?: number;
  width?: number;
  epochs?: number;
  batch?: number;
  lr?: number;
  timeMinutes?: number;
  seed?: number;
  /** ONNX Runtime threads for the speed comparison (the same for both models). */
  threads?: number;
  project?: string;
  name?: string;
  logger?: Logger;
  progress?: boolean;
}

export interface DistillReport {
  runDir: string;
  teacher: string;
  classes: string[];
  frames: number;
  teacherBoxes: number;
  student: { checkpoint: string; onnx: string; imgsz: number; width: number };
  heldOut: { frames: number; map50: number; map50to95: number; perClass: Record<string, unknown>[] };
  speed: { threads: number; teacherMs: number; studentMs: number; speedup: number };
  trainingSeconds: number;
}

export async function distill(o: DistillOptions): Promise<DistillReport> {
  const logger = o.logger ?? createLogger('distill');
  const teacher = o.teacher ?? BUNDLED_MODEL_PATH;
  const run = RunFolder.create(o.project ?? 'runs/distill', o.name ?? 'exp');
  const labels = await labelWithTeacher({ teacher, frames: o.frames, out: join(run.dir, 'pseudo'), classes: o.classes, boxThreshold: o.boxThreshold, holdout: o.holdout, seed: o.seed, logger });
  logger.info({ frames: labels.frames, boxes: labels.boxes, classes: labels.classes }, 'teacher labels ready');

  const imgsz = o.imgsz ?? 320;
  const width = o.width ?? 0.5;
  const trained = await train({
    data: labels.dataset, epochs: o.epochs ?? 30, batch: o.batch ?? 16, imgsz, width, lr: o.lr, timeMinutes: o.timeMinutes, seed: o.seed,
    temperature: o.temperature ?? 2, project: run.dir, name: 'student', existOk: true, logger, progress: o.progress,
  });
  const onnx = join(run.dir, 'student.onnx');
  await exportCheckpoint({ checkpoint: trained.best, output: onnx, name: 'kestrel-student', eval: { distilledFrom: teacher, split: 'val', map50: trained.metrics.map50 } });

  const ds = loadDataset(labels.dataset);
  const heldOut = splitItems(ds, 'test');
  const student = await OnnxPredictor.load(onnx, o.threads ?? 1);
  const scored = heldOut.length > 0 ? await evaluatePredictor(student, heldOut, ds) : undefined;
  await student.close();
  const threads = o.threads ?? 1;
  const speed = await compareSpeed(teacher, onnx, heldOut.length > 0 ? heldOut : ds.items, threads);
  const report: DistillReport = {
    runDir: run.dir,
    teacher,
    classes: labels.classes,
    frames: labels.frames,
    teacherBoxes: labels.boxes,
    student: { checkpoint: trained.best, onnx, imgsz, width },
    heldOut: { frames: heldOut.length, map50: scored?.metrics.map50 ?? NaN, map50to95: scored?.metrics.map50to95 ?? NaN, perClass: scored ? (summariseMetrics(scored.metrics).perClass as Record<string, unknown>[]) : [] },
    speed,
    trainingSeconds: trained.seconds,
  };
  run.writeJson('distill.json', report);
  return report;
}

/**
 * Model time per frame of each model, measured one after the other with the same thread count
 * and spinning off (core's default), so one idle session does not steal the other's core.
 */
export async function compareSpeed(teacherPath: string, studentPath: string, items: readonly DatasetItem[], threads: number, frames = 20): Promise<DistillReport['speed']> {
  const timeOne = async (path: string): Promise<number> => {
    const d = await Detector.load(path, { threads });
    try {
      const sample = items.slice(0, Math.min(frames, items.length));
      for (const it of sample.slice(0, 2)) await d.detect(it.imagePath); // warm-up
      let ms = 0;
      for (const it of sample) {
        const t0 = performance.now();
        const r = await d.detect(it.imagePath);
        ms += r.timings.inferenceMs || performance.now() - t0;
      }
      return ms / sample.length;
    } finally {
      await d.close();
    }
  };
  const teacherMs = await timeOne(teacherPath);
  const studentMs = await timeOne(studentPath);
  return { threads, teacherMs: round(teacherMs), studentMs: round(studentMs), speedup: round(teacherMs / studentMs) };
}

function round(v: number): number {
  return Math.round(v * 100) / 100;
}

// The teacher's side of distillation: an ONNX detector (by default the bundled NanoDet) run in
// ONNX Runtime labels unlabelled frames; boxes keep the teacher's score as a soft label.
import { copyFileSync, existsSync, mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { Detector } from '@kestrel/core/detect/detector';
import { KestrelError } from '@kestrel/core/util/errors';
import type { Logger } from '@kestrel/core/util/log';
import { listImages } from '../data/files.js';
import { formatYoloLabels } from '../data/yolo-labels.js';
import { writeManifest, SOFT_SCORES_FILE } from '../data/dataset.js';
import { splitIds } from '../data/split.js';
import type { LabelBox } from '../data/types.js';

export interface TeacherLabelOptions {
  teacher: string;
  frames: string;
  /** Output dataset folder (images are linked, not copied, where the filesystem allows). */
  out: string;
  /** Teacher class names to keep; default: every class the teacher found at least `minBoxes` times. */
  classes?: string[];
  minBoxes?: number;
  /** Teacher detections at or above this score become labels (with their score kept). */
  boxThreshold?: number;
  /** Share of frames held out to compare student with teacher. */
  holdout?: number;
  seed?: number;
  threads?: number;
  logger?: Logger;
}

export interface TeacherLabels {
  dataset: string;
  classes: string[];
  frames: number;
  boxes: number;
  teacherLabels: string[];
  /** Mean teacher inference time per frame (ms). */
  teacherMs: number;
}

export async function labelWithTeacher(o: TeacherLabelOptions): Promise<TeacherLabels> {
  const frames = listImages(o.frames);
  if (frames.length === 0) throw new KestrelError('E_DISTILL_FRAMES', `no images found in ${o.frames}`);
  const detector = await Detector.load(o.teacher, o.threads ? { threads: o.threads } : {});
  const threshold = o.boxThreshold ?? 0.35;
  const found: Array<{ id: string; width: number; height: number; dets: Array<{ label: string; score: number; box: [number, number, number, number] }> }> = [];
  let ms = 0;
  try {
    for (const [i, id] of frames.entries()) {
      const r = await detector.detect(join(o.frames, id), { scoreThreshold: threshold, iouThreshold: 0.5, maxDetections: 100 });
      ms += r.timings.inferenceMs;
      found.push({ id, width: r.width, height: r.height, dets: r.detections.map((d) => ({ label: d.label, score: d.score, box: d.box })) });
      if ((i + 1) % 50 === 0) o.logger?.info({ frames: i + 1, of: frames.length }, 'teacher labelling');
    }
  } finally {
    await detector.close();
  }
  const teacherLabels = detector.meta.labels;
  const classes = o.classes ?? chooseClasses(found.flatMap((f) => f.dets.map((d) => d.label)), o.minBoxes ?? 3);
  const unknown = classes.filter((c) => !teacherLabels.includes(c));
  if (unknown.length > 0) throw new KestrelError('E_DISTILL_CLASSES', `the teacher does not detect ${unknown.join(', ')} (it knows: ${teacherLabels.slice(0, 20).join(', ')}${teacherLabels.length > 20 ? ', ...' : ''})`);
  if (classes.length === 0) throw new KestrelError('E_DISTILL_CLASSES', `the teacher found nothing at score ≥ ${threshold} in ${o.frames}; lower --box-threshold or give other frames`);

  const out = resolve(o.out);
  mkdirSync(join(out, 'labels'), { recursive: true });
  const soft: Record<string, number[]> = {};
  let boxes = 0;
  for (const f of found) {
    const src = resolve(o.frames, f.id);
    const dst = join(out, 'images', f.id);
    mkdirSync(dirname(dst), { recursive: true });
    if (!existsSync(dst)) linkOrCopy(src, dst);
    const labels: LabelBox[] = f.dets
      .filter((d) => classes.includes(d.label))
      .map((d) => ({ classId: classes.indexOf(d.label), score: d.score, box: [d.box[0] / f.width, d.box[1] / f.height, d.box[2] / f.width, d.box[3] / f.height] }));
    const labelPath = join(out, 'labels', f.id.replace(/\.[^./]+$/, '.txt'));
    mkdirSync(dirname(labelPath), { recursive: true });
    writeFileSync(labelPath, formatYoloLabels(labels));
    soft[f.id] = labels.map((l) => Math.round(l.score! * 1e4) / 1e4);
    boxes += labels.length;
  }
  writeFileSync(join(out, SOFT_SCORES_FILE), JSON.stringify(soft));
  // Held-out frames are the test split: the student never trains or validates on them.
  const holdout = o.holdout ?? 0.2;
  const splits = splitIds(found.map((f) => f.id), { ratios: [Math.max(0.01, 0.9 * (1 - holdout)), 0.1 * (1 - holdout), holdout], seed: o.seed ?? 0 });
  writeManifest(out, { schema: 1, name: 'distill', classes, splits, source: { teacher: o.teacher, frames: resolve(o.frames), boxThreshold: threshold } });
  return { dataset: out, classes, frames: found.length, boxes, teacherLabels, teacherMs: ms / found.length };
}

/** Classes the teacher found often enough to learn, most frequent first. */
function chooseClasses(labels: string[], minBoxes: number): string[] {
  const counts = new Map<string, number>();
  for (const l of labels) counts.set(l, (counts.get(l) ?? 0) + 1);
  return [...counts.entries()].filter(([, n]) => n >= minBoxes).sort((a, b) => b[1] - a[1]).map(([l]) => l);
}

function linkOrCopy(src: string, dst: string): void {
  try {
    symlinkSync(src, dst);
  } catch {
    copyFileSync(src, dst);
  }
}

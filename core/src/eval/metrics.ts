import type { ClassMetrics, DetectionMetrics, EvalOptions, ImageGroundTruth, ImagePredictions } from './types.js';
import type { Box } from '../image/letterbox.js';
import { averagePrecision101, COCO_IOU_THRESHOLDS } from './ap.js';
import { greedyMatch, iouMatrix } from './match.js';
import { confusionMatrix } from './confusion.js';

interface ScoredMatch {
  score: number;
  /** Per IoU threshold (`thresholds` below): matched a truth. */
  tp: boolean[];
  /** Per IoU threshold: matched nothing but overlaps an ignore box, so it does not count. */
  ignored: boolean[];
}

/**
 * Detection metrics in the COCO manner: AP per class (101-point), mAP@0.5 and mAP@0.5:0.95 over
 * the classes that have ground truth, precision/recall/F1 pooled over classes at the score
 * threshold with the best F1, and a confusion matrix with a background row and column.
 * Predictions and truths are joined by `imageId`; an image missing on either side has none.
 */
export function evaluateDetections(predictions: readonly ImagePredictions[], truths: readonly ImageGroundTruth[], options: EvalOptions = {}): DetectionMetrics {
  const matchIou = options.matchIou ?? 0.5;
  const thresholds = [...new Set([...COCO_IOU_THRESHOLDS, matchIou])];
  const matchIndex = thresholds.indexOf(matchIou);
  const predsByImage = groupBy(predictions, (p) => p.imageId, (p) => p.detections);
  const truthsByImage = groupBy(truths, (t) => t.imageId, (t) => t.boxes);
  const ignoreByImage = groupBy(truths, (t) => t.imageId, (t) => t.ignore ?? []);
  const imageIds = [...new Set([...truthsByImage.keys(), ...predsByImage.keys()])];

  const matchesByClass = new Map<number, ScoredMatch[]>();
  const truthCount = new Map<number, number>();
  let classes = options.labels?.length ?? 0;
  for (const imageId of imageIds) {
    const dets = predsByImage.get(imageId) ?? [];
    const boxes = truthsByImage.get(imageId) ?? [];
    const classIds = new Set([...dets.map((d) => d.classId), ...boxes.map((b) => b.classId)]);
    for (const classId of classIds) {
      classes = Math.max(classes, classId + 1);
      const classDets = dets.filter((d) => d.classId === classId);
      const classTruths: Box[] = boxes.filter((b) => b.classId === classId).map((b) => b.box);
      truthCount.set(classId, (truthCount.get(classId) ?? 0) + classTruths.length);
      const ious = iouMatrix(classDets.map((d) => d.box), classTruths);
      const order = classDets.map((_, i) => i).sort((a, b) => classDets[b].score - classDets[a].score);
      const flags = thresholds.map((t) => greedyMatch(ious, order, classTruths.length, t));
      const ignoreBoxes = (ignoreByImage.get(imageId) ?? []).filter((b) => b.classId === classId).map((b) => b.box);
      const ignoreIou = iouMatrix(classDets.map((d) => d.box), ignoreBoxes).map((row) => Math.max(0, ...row));
      const list = matchesByClass.get(classId) ?? [];
      classDets.forEach((d, i) =>
        list.push({ score: d.score, tp: flags.map((f) => f[i]), ignored: flags.map((f, k) => !f[i] && ignoreIou[i] >= thresholds[k]) }),
      );
      matchesByClass.set(classId, list);
    }
  }

  const best = bestF1([...matchesByClass.values()].flat().filter((m) => !m.ignored[matchIndex]), matchIndex, sum(truthCount.values()));
  const perClass: ClassMetrics[] = [];
  for (const classId of [...new Set([...truthCount.keys(), ...matchesByClass.keys()])].sort((a, b) => a - b)) {
    const list = matchesByClass.get(classId) ?? [];
    const n = truthCount.get(classId) ?? 0;
    const aps = COCO_IOU_THRESHOLDS.map((t) => {
      const k = thresholds.indexOf(t);
      const counted = list.filter((m) => !m.ignored[k]);
      return averagePrecision101(counted.map((m) => m.score), counted.map((m) => m.tp[k]), n);
    });
    const kept = list.filter((m) => m.score >= best.threshold && !m.ignored[matchIndex]);
    const tp = kept.filter((m) => m.tp[matchIndex]).length;
    perClass.push({
      classId,
      ...(options.labels?.[classId] !== undefined ? { label: options.labels[classId] } : {}),
      truths: n,
      detections: list.length,
      ap50: aps[0],
      ap50to95: mean(aps),
      precision: kept.length > 0 ? tp / kept.length : 0,
      recall: n > 0 ? tp / n : 0,
    });
  }
  const scored = perClass.filter((c) => c.truths > 0);
  const confusionThreshold = options.confusionScoreThreshold ?? best.threshold;
  return {
    map50: scored.length > 0 ? mean(scored.map((c) => c.ap50)) : NaN,
    map50to95: scored.length > 0 ? mean(scored.map((c) => c.ap50to95)) : NaN,
    precision: best.precision,
    recall: best.recall,
    f1: best.f1,
    scoreThreshold: best.threshold,
    perClass,
    confusion: confusionMatrix(predictions, truths, classes, confusionThreshold, matchIou, options.labels),
    images: imageIds.length,
    truths: sum(truthCount.values()),
    detections: sum([...matchesByClass.values()].map((l) => l.length)),
  };
}

/**
 * Sweeps the score threshold down through every detection score (ties enter together) and
 * keeps the point with the highest F1 of pooled precision and recall.
 */
function bestF1(matches: ScoredMatch[], matchIndex: number, truths: number): { threshold: number; precision: number; recall: number; f1: number } {
  const sorted = [...matches].sort((a, b) => b.score - a.score);
  let best = { threshold: sorted.length > 0 ? sorted[0].score : 0, precision: 0, recall: 0, f1: 0 };
  let tp = 0;
  for (let i = 0; i < sorted.length; i++) {
    if (sorted[i].tp[matchIndex]) tp++;
    if (i + 1 < sorted.length && sorted[i + 1].score === sorted[i].score) continue;
    const precision = tp / (i + 1);
    const recall = truths > 0 ? tp / truths : 0;
    const f1 = precision + recall > 0 ? (2 * precision * recall) / (precision + recall) : 0;
    if (f1 > best.f1) best = { threshold: sorted[i].score, precision, recall, f1 };
  }
  return best;
}

function groupBy<T, V>(items: readonly T[], key: (t: T) => string, values: (t: T) => readonly V[]): Map<string, V[]> {
  const out = new Map<string, V[]>();
  for (const item of items) {
    const k = key(item);
    out.set(k, [...(out.get(k) ?? []), ...values(item)]);
  }
  return out;
}

function sum(values: Iterable<number>): number {
  let s = 0;
  for (const v of values) s += v;
  return s;
}

function mean(values: readonly number[]): number {
  return values.length > 0 ? sum(values) / values.length : NaN;
}

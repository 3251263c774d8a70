import type { ImageGroundTruth, ImagePredictions, ConfusionMatrix, GroundTruthBox } from './types.js';
import type { Detection } from '../detect/types.js';
import { iouMatrix } from './match.js';
import { iou } from '../detect/box.js';

/**
 * Confusion matrix over detections scoring at least `scoreThreshold`. Within each image, pairs
 * of (truth, detection) of any classes are matched one to one, highest IoU first, down to
 * `iouThreshold`: a matched pair counts at [true class][predicted class], an unmatched truth at
 * [true class][background], an unmatched detection at [background][predicted class] (unless it
 * overlaps one of the image's ignore boxes of its class).
 */
export function confusionMatrix(
  predictions: readonly ImagePredictions[],
  truths: readonly ImageGroundTruth[],
  classes: number,
  scoreThreshold: number,
  iouThreshold: number,
  labels?: string[],
): ConfusionMatrix {
  const size = classes + 1;
  const background = classes;
  const matrix = Array.from({ length: size }, () => new Array<number>(size).fill(0));
  const detsByImage = new Map<string, Detection[]>();
  for (const p of predictions) detsByImage.set(p.imageId, [...(detsByImage.get(p.imageId) ?? []), ...p.detections]);
  const truthsByImage = new Map<string, GroundTruthBox[]>();
  const ignoreByImage = new Map<string, GroundTruthBox[]>();
  for (const t of truths) {
    truthsByImage.set(t.imageId, [...(truthsByImage.get(t.imageId) ?? []), ...t.boxes]);
    ignoreByImage.set(t.imageId, [...(ignoreByImage.get(t.imageId) ?? []), ...(t.ignore ?? [])]);
  }
  for (const imageId of new Set([...truthsByImage.keys(), ...detsByImage.keys()])) {
    const boxes = truthsByImage.get(imageId) ?? [];
    const dets = (detsByImage.get(imageId) ?? []).filter((d) => d.score >= scoreThreshold);
    const ious = iouMatrix(dets.map((d) => d.box), boxes.map((b) => b.box));
    const pairs: [number, number, number][] = [];
    ious.forEach((row, p) => row.forEach((v, t) => v >= iouThreshold && pairs.push([v, p, t])));
    pairs.sort((a, b) => b[0] - a[0]);
    const detUsed = new Uint8Array(dets.length);
    const truthUsed = new Uint8Array(boxes.length);
    for (const [, p, t] of pairs) {
      if (detUsed[p] || truthUsed[t]) continue;
      detUsed[p] = 1;
      truthUsed[t] = 1;
      matrix[clampClass(boxes[t].classId, classes)][clampClass(dets[p].classId, classes)]++;
    }
    boxes.forEach((b, t) => truthUsed[t] || matrix[clampClass(b.classId, classes)][background]++);
    // A leftover detection on an ignore box is not a false alarm.
    const ignore = ignoreByImage.get(imageId) ?? [];
    const onIgnore = (d: Detection) => ignore.some((g) => g.classId === d.classId && iou(g.box, d.box) >= iouThreshold);
    dets.forEach((d, p) => detUsed[p] || onIgnore(d) || matrix[background][clampClass(d.classId, classes)]++);
  }
  return { classes, ...(labels ? { labels } : {}), scoreThreshold, iouThreshold, matrix };
}

function clampClass(classId: number, classes: number): number {
  if (!Number.isInteger(classId) || classId < 0 || classId >= classes) {
    throw new RangeError(`class id ${classId} is outside 0..${classes - 1}`);
  }
  return classId;
}

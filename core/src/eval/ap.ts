/**
 * COCO's average precision: precision made monotone (the best precision at this recall or any
 * higher one), read at 101 recall points 0, 0.01, ..., 1 and averaged. A recall the detections
 * never reach contributes 0.
 */
export function averagePrecision101(scores: readonly number[], truePositive: readonly boolean[], truths: number): number {
  if (truths === 0) return NaN;
  const order = scores.map((_, i) => i).sort((a, b) => scores[b] - scores[a]);
  const n = order.length;
  const precision = new Float64Array(n);
  const recall = new Float64Array(n);
  let tp = 0;
  for (let k = 0; k < n; k++) {
    if (truePositive[order[k]]) tp++;
    precision[k] = tp / (k + 1);
    recall[k] = tp / truths;
  }
  for (let k = n - 2; k >= 0; k--) precision[k] = Math.max(precision[k], precision[k + 1]);
  let sum = 0;
  let k = 0;
  for (let r = 0; r <= 100; r++) {
    const level = r / 100;
    while (k < n && recall[k] < level) k++;
    if (k < n) sum += precision[k];
  }
  return sum / 101;
}

/** The ten IoU thresholds of COCO's mAP@0.5:0.95 (built from integers, so 0.95 is exact). */
export const COCO_IOU_THRESHOLDS: readonly number[] = Array.from({ length: 10 }, (_, i) => (50 + 5 * i) / 100);

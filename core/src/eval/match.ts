import { iou } from '../detect/box.js';
import type { Box } from '../image/letterbox.js';

/** IoU of every prediction (rows) with every truth (columns). */
export function iouMatrix(predictions: readonly Box[], truths: readonly Box[]): Float64Array[] {
  return predictions.map((p) => Float64Array.from(truths, (t) => iou(p, t)));
}

/**
 * COCO's greedy matching within one image and class: predictions in descending score take the
 * not-yet-matched truth they overlap most, if that IoU reaches the threshold.
 * `order` lists prediction indices best first; returns true-positive flags by prediction index.
 */
export function greedyMatch(ious: readonly Float64Array[], order: readonly number[], truths: number, threshold: number): boolean[] {
  const matched = new Uint8Array(truths);
  const tp = new Array<boolean>(ious.length).fill(false);
  for (const p of order) {
    let best = -1;
    let bestIou = threshold;
    const row = ious[p];
    for (let t = 0; t < truths; t++) {
      // `>=` on the threshold: a box exactly at IoU 0.5 counts at 0.5, as in COCO.
      if (!matched[t] && row[t] >= bestIou && (best < 0 || row[t] > bestIou)) {
        best = t;
        bestIou = row[t];
      }
    }
    if (best >= 0) {
      matched[best] = 1;
      tp[p] = true;
    }
  }
  return tp;
}

// Precision–recall curves per class at IoU 0.5, for the run folder's PR plot. The matching is
// core's (iouMatrix + greedyMatch, COCO's greedy rule), so the curve agrees with the AP figures.
import { greedyMatch, iouMatrix } from '@kestrel/core/eval/match';
import type { ImageGroundTruth, ImagePredictions } from '@kestrel/core/eval/types';

export interface PrCurve {
  classId: number;
  /** Points in descending score order: [recall, precision]. */
  points: Array<[number, number]>;
}

export function prCurves(predictions: readonly ImagePredictions[], truths: readonly ImageGroundTruth[], classes: number, iouThreshold = 0.5): PrCurve[] {
  const truthsById = new Map(truths.map((t) => [t.imageId, t.boxes]));
  return Array.from({ length: classes }, (_, classId) => {
    const scored: Array<{ score: number; tp: boolean }> = [];
    let total = 0;
    const seen = new Set<string>();
    for (const p of predictions) {
      seen.add(p.imageId);
      const dets = p.detections.filter((d) => d.classId === classId);
      const gts = (truthsById.get(p.imageId) ?? []).filter((b) => b.classId === classId).map((b) => b.box);
      total += gts.length;
      const order = dets.map((_, i) => i).sort((a, b) => dets[b].score - dets[a].score);
      const tp = greedyMatch(iouMatrix(dets.map((d) => d.box), gts), order, gts.length, iouThreshold);
      dets.forEach((d, i) => scored.push({ score: d.score, tp: tp[i] }));
    }
    for (const t of truths) if (!seen.has(t.imageId)) total += t.boxes.filter((b) => b.classId === classId).length;
    scored.sort((a, b) => b.score - a.score);
    const points: Array<[number, number]> = [];
    let tp = 0;
    scored.forEach((s, i) => {
      if (s.tp) tp++;
      points.push([total > 0 ? tp / total : 0, tp / (i + 1)]);
    });
    return { classId, points };
  });
}

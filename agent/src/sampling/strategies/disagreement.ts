import { iou, type Detection } from '@kestrel/core';
import type { SamplingStrategy, StrategyInput } from '../types.js';

/**
 * The primary model and a shadow model (a candidate release, a bigger teacher) disagree: at least
 * `minUnmatched` confident detections of either have no same-label partner at IoU ≥ `iou` in the
 * other. Frames where two models differ are where one of them is wrong. Without shadow detections
 * the strategy never fires.
 */
export class DisagreementStrategy implements SamplingStrategy {
  readonly name = 'disagreement' as const;

  constructor(private readonly options: { iou: number; minScore: number; minUnmatched: number }) {}

  evaluate({ detections, shadow }: StrategyInput): boolean {
    if (!shadow) return false;
    const primary = detections.filter((d) => d.score >= this.options.minScore);
    const second = shadow.detections.filter((d) => d.score >= this.options.minScore);
    return unmatched(primary, second, this.options.iou) >= this.options.minUnmatched;
  }
}

/** Detections of either list left without a partner after greedy matching (highest IoU first). */
export function unmatched(a: readonly Detection[], b: readonly Detection[], minIou: number): number {
  const pairs: { i: number; j: number; overlap: number }[] = [];
  a.forEach((da, i) =>
    b.forEach((db, j) => {
      if (da.label !== db.label) return;
      const overlap = iou(da.box, db.box);
      if (overlap >= minIou) pairs.push({ i, j, overlap });
    }),
  );
  pairs.sort((p, q) => q.overlap - p.overlap);
  const usedA = new Set<number>();
  const usedB = new Set<number>();
  for (const p of pairs) {
    if (usedA.has(p.i) || usedB.has(p.j)) continue;
    usedA.add(p.i);
    usedB.add(p.j);
  }
  return a.length - usedA.size + (b.length - usedB.size);
}

// Which anchor points learn which object: ATSS (Zhang et al., 2020), as NanoDet uses it. For each
// object take the k points nearest its centre on every level, and keep those whose anchor box
// overlaps it more than the mean + standard deviation of the candidates' overlaps, and whose
// point lies inside the object. The threshold adapts to each object's size, so there are no
// hand-set size ranges per level to tune.
import type { Box } from '@kestrel/core/detect/types';

export interface AnchorSet {
  /** x, y per point, in the contract's order. */
  points: Float32Array;
  strides: Float32Array;
  /** [start, end) of each level in the point list. */
  levels: Array<{ stride: number; start: number; end: number }>;
}

export interface Assignment {
  /** Assigned object index per point, -1 for background. */
  gtIndex: Int32Array;
}

export const ATSS_TOP_K = 9;
/** Anchor box side in strides, for the overlap test only (the detector itself is anchor-free). */
export const ATSS_ANCHOR_SCALE = 5;

export function anchorSet(points: Float32Array, strides: Float32Array): AnchorSet {
  const levels: AnchorSet['levels'] = [];
  for (let i = 0; i < strides.length; i++) {
    const last = levels[levels.length - 1];
    if (!last || last.stride !== strides[i]) levels.push({ stride: strides[i], start: i, end: i + 1 });
    else last.end = i + 1;
  }
  return { points, strides, levels };
}

export function assignAtss(anchors: AnchorSet, gts: readonly Box[], topK = ATSS_TOP_K): Assignment {
  const n = anchors.strides.length;
  const gtIndex = new Int32Array(n).fill(-1);
  const bestIou = new Float32Array(n);
  const { points, strides } = anchors;
  gts.forEach((gt, g) => {
    const gcx = (gt[0] + gt[2]) / 2;
    const gcy = (gt[1] + gt[3]) / 2;
    const candidates: number[] = [];
    for (const level of anchors.levels) {
      const dist: Array<[number, number]> = [];
      for (let i = level.start; i < level.end; i++) dist.push([(points[2 * i] - gcx) ** 2 + (points[2 * i + 1] - gcy) ** 2, i]);
      dist.sort((a, b) => a[0] - b[0]);
      for (let k = 0; k < Math.min(topK, dist.length); k++) candidates.push(dist[k][1]);
    }
    const ious = candidates.map((i) => iouWithAnchor(gt, points[2 * i], points[2 * i + 1], strides[i] * ATSS_ANCHOR_SCALE));
    const mean = ious.reduce((a, b) => a + b, 0) / ious.length;
    const std = Math.sqrt(ious.reduce((a, b) => a + (b - mean) ** 2, 0) / ious.length);
    const threshold = mean + std;
    let any = false;
    candidates.forEach((i, k) => {
      if (ious[k] < threshold || !inside(gt, points[2 * i], points[2 * i + 1])) return;
      any = true;
      claim(i, g, ious[k]);
    });
    if (!any) {
      // A tiny object between grid points: give it the candidate whose anchor overlaps it most
      // rather than nothing.
      let best = 0;
      for (let k = 1; k < ious.length; k++) if (ious[k] > ious[best]) best = k;
      claim(candidates[best], g, ious[best]);
    }
  });
  return { gtIndex };

  // A point wanted by several objects goes to the one its anchor overlaps most.
  function claim(i: number, g: number, overlap: number): void {
    if (gtIndex[i] < 0 || overlap > bestIou[i]) {
      gtIndex[i] = g;
      bestIou[i] = overlap;
    }
  }
}

function inside(b: Box, x: number, y: number): boolean {
  return Math.min(x - b[0], y - b[1], b[2] - x, b[3] - y) > 0.01;
}

function iouWithAnchor(b: Box, cx: number, cy: number, side: number): number {
  const h = side / 2;
  const iw = Math.max(0, Math.min(b[2], cx + h) - Math.max(b[0], cx - h));
  const ih = Math.max(0, Math.min(b[3], cy + h) - Math.max(b[1], cy - h));
  const inter = iw * ih;
  const union = (b[2] - b[0]) * (b[3] - b[1]) + side * side - inter;
  return union > 0 ? inter / union : 0;
}

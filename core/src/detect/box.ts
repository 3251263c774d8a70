import type { Box } from '../image/letterbox.js';

export function boxArea(b: Box): number {
  return Math.max(0, b[2] - b[0]) * Math.max(0, b[3] - b[1]);
}

export function iou(a: Box, b: Box): number {
  const ix = Math.min(a[2], b[2]) - Math.max(a[0], b[0]);
  const iy = Math.min(a[3], b[3]) - Math.max(a[1], b[1]);
  if (ix <= 0 || iy <= 0) return 0;
  const inter = ix * iy;
  return inter / (boxArea(a) + boxArea(b) - inter);
}

export function roundBox(b: Box, digits = 1): Box {
  const f = 10 ** digits;
  return [Math.round(b[0] * f) / f, Math.round(b[1] * f) / f, Math.round(b[2] * f) / f, Math.round(b[3] * f) / f];
}

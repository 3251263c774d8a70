import type { Detection } from './types.js';
import { iou } from './box.js';

export interface NmsOptions {
  iouThreshold: number;
  /** Keep at most this many detections overall, best first. */
  maxDetections: number;
  /** Suppress across classes too (one box per object whatever its label). */
  classAgnostic?: boolean;
  /** Only the best this many candidates enter NMS (bounds the quadratic step on busy frames). */
  maxCandidates?: number;
}

export const DEFAULT_NMS: NmsOptions = { iouThreshold: 0.5, maxDetections: 100, maxCandidates: 1000 };

/** Greedy non-maximum suppression, per class unless classAgnostic. Input order is not assumed. */
export function nms(candidates: Detection[], options: NmsOptions = DEFAULT_NMS): Detection[] {
  const sorted = [...candidates].sort((a, b) => b.score - a.score);
  if (sorted.length > (options.maxCandidates ?? DEFAULT_NMS.maxCandidates!)) sorted.length = options.maxCandidates ?? DEFAULT_NMS.maxCandidates!;
  const kept: Detection[] = [];
  const suppressed = new Uint8Array(sorted.length);
  for (let i = 0; i < sorted.length && kept.length < options.maxDetections; i++) {
    if (suppressed[i]) continue;
    const a = sorted[i];
    kept.push(a);
    for (let j = i + 1; j < sorted.length; j++) {
      if (suppressed[j]) continue;
      const b = sorted[j];
      if (!options.classAgnostic && b.classId !== a.classId) continue;
      if (iou(a.box, b.box) > options.iouThreshold) suppressed[j] = 1;
    }
  }
  return kept;
}

import { iou, type CameraShadow, type Detection, type ShadowSide } from '@kestrel/core';
import { LatencyWindow } from '../stats/latency-window.js';

/** A current and a candidate detection of the same label at this IoU or more are one object. */
export const MATCH_IOU = 0.5;

/**
 * How many of `candidate` match a detection of `current` one to one: same label, IoU ≥ 0.5,
 * greedy by candidate score then by IoU (the matching mAP@0.5 uses, with the current model as
 * pseudo truth). Pure, so the device and a test count the same way.
 */
export function matchCount(current: readonly Detection[], candidate: readonly Detection[], minIou = MATCH_IOU): number {
  const taken = new Uint8Array(current.length);
  let matched = 0;
  for (const c of [...candidate].sort((a, b) => b.score - a.score)) {
    let best = -1;
    let bestIou = minIou;
    for (let i = 0; i < current.length; i++) {
      if (taken[i] || current[i].label !== c.label) continue;
      const overlap = iou(current[i].box, c.box);
      if (overlap >= bestIou) {
        best = i;
        bestIou = overlap;
      }
    }
    if (best >= 0) {
      taken[best] = 1;
      matched++;
    }
  }
  return matched;
}

class SideTally {
  detections = 0;
  scoreSum = 0;
  latencySum = 0;
  /** The latest compared frames' latencies (bounded ring), for p50/p99. */
  readonly latency = new LatencyWindow(512);

  add(detections: readonly Detection[], ms: number): void {
    this.detections += detections.length;
    for (const d of detections) this.scoreSum += d.score;
    this.latency.add(ms);
    this.latencySum += ms;
  }

  figures(frames: number): ShadowSide {
    return { detections: this.detections, scoreSum: round(this.scoreSum), latencyMs: this.latency.percentiles(), latencyMeanMs: frames > 0 ? round(this.latencySum / frames) : null };
  }
}

/**
 * One camera's shadow comparison since the shadow started: frames compared, matched detections,
 * and per model detections, score sum and latency. Sums rather than means, so the hub can add
 * cameras and devices up exactly.
 */
export class CameraShadowTally {
  private frames = 0;
  private matched = 0;
  private readonly current = new SideTally();
  private readonly candidate = new SideTally();

  /** Only detections at `minScore` and up count (the camera's filter: what the operator sees). */
  add(current: readonly Detection[], candidate: readonly Detection[], currentMs: number, candidateMs: number, minScore: number): void {
    const a = current.filter((d) => d.score >= minScore);
    const b = candidate.filter((d) => d.score >= minScore);
    this.frames++;
    this.matched += matchCount(a, b);
    this.current.add(a, currentMs);
    this.candidate.add(b, candidateMs);
  }

  figures(): CameraShadow {
    const union = this.current.detections + this.candidate.detections - this.matched;
    return {
      frames: this.frames,
      matched: this.matched,
      agreement: union > 0 ? round(this.matched / union, 4) : null,
      current: this.current.figures(this.frames),
      candidate: this.candidate.figures(this.frames),
    };
  }
}

function round(v: number, digits = 2): number {
  const f = 10 ** digits;
  return Math.round(v * f) / f;
}

import { scoreBin, SCORE_BINS } from '@kestrel/core';

/** Per-camera inference totals since the agent started; the health watch compares windows of them. */
export interface CameraInferenceTotals {
  frames: number;
  failures: number;
  detections: number;
  inferenceMsSum: number;
  /**
   * Confidence histogram of the detections at the counters' minScore and up (core's SCORE_BINS
   * bins over [minScore, 1]): the quality rule compares the new model's with the previous one's.
   * Absent: none counted.
   */
  scores?: number[];
  /** The sum of those detections' scores (their mean is what the quality rule's margin is about). */
  scoreSum?: number;
}

export type InferenceTotals = Record<string, CameraInferenceTotals>;

/**
 * The agent's inference loop reports each frame here (two calls in Agent.process); the updater
 * reads `totals()` to judge a new model against the previous one on the same cameras.
 */
export class InferenceCounters {
  private readonly cameras = new Map<string, CameraInferenceTotals>();

  /** `minScore`: the lowest score the confidence histogram counts (the cameras' lowest filters.minScore). */
  constructor(readonly minScore = 0.35) {}

  private of(camera: string): CameraInferenceTotals {
    let totals = this.cameras.get(camera);
    if (!totals) this.cameras.set(camera, (totals = { frames: 0, failures: 0, detections: 0, inferenceMsSum: 0 }));
    return totals;
  }

  /** One answered frame: its detections (counted, and their scores binned for the confidence histogram) and how long it took. */
  ok(camera: string, detections: readonly { score: number }[], inferenceMs: number): void {
    const t = this.of(camera);
    t.frames++;
    t.detections += detections.length;
    t.inferenceMsSum += inferenceMs;
    for (const { score } of detections) {
      if (score < this.minScore) continue;
      t.scores ??= new Array(SCORE_BINS).fill(0);
      t.scores[scoreBin(score, this.minScore)]++;
      t.scoreSum = (t.scoreSum ?? 0) + score;
    }
  }

  failed(camera: string): void {
    this.of(camera).failures++;
  }

  totals(): InferenceTotals {
    return Object.fromEntries([...this.cameras].map(([name, t]) => [name, { ...t, ...(t.scores && { scores: [...t.scores] }) }]));
  }
}

/** `later - earlier`, per camera. */
export function difference(later: InferenceTotals, earlier: InferenceTotals): InferenceTotals {
  const out: InferenceTotals = {};
  for (const [camera, t] of Object.entries(later)) {
    const e = earlier[camera] ?? { frames: 0, failures: 0, detections: 0, inferenceMsSum: 0 };
    out[camera] = { frames: t.frames - e.frames, failures: t.failures - e.failures, detections: t.detections - e.detections, inferenceMsSum: t.inferenceMsSum - e.inferenceMsSum };
    if (t.scores) out[camera].scores = t.scores.map((n, i) => n - (e.scores?.[i] ?? 0));
    if (t.scoreSum !== undefined) out[camera].scoreSum = t.scoreSum - (e.scoreSum ?? 0);
  }
  return out;
}

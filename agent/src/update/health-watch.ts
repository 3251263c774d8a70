import { psi, SCORE_BINS } from '@kestrel/core';
import type { InferenceTotals } from './inference-counters.js';

/** When a freshly swapped model counts as unhealthy (each rule can be turned off with null). */
export interface HealthPolicy {
  /** How long after the swap the model is watched. */
  watchMs: number;
  /** Frames the new model must have processed before rates are judged (fewer: only hard failures count). */
  minFrames: number;
  /** Failed inferences / all inferences above this → roll back. */
  maxFailureRatio: number;
  /** Mean inference time above this → roll back. */
  maxInferenceMs: number | null;
  /**
   * Detections per frame below this fraction of the previous model's, on the cameras both
   * models saw → roll back. Judged only when the previous model found at least
   * `minBaselineDetections` objects in its window (an empty scene proves nothing).
   */
  minDetectionRatio: number | null;
  minBaselineDetections: number;
  /**
   * The new model's confidence histogram against the previous model's, on the cameras both saw:
   * a PSI above this, with the mean score lower by more than `maxConfidenceDrop` → roll back (a
   * model that still finds objects but is unsure of them). Judged when both windows hold
   * `minBaselineDetections` counted detections. PSI alone is not enough: two good models differ
   * in how sure they are, and a single-valued score (0.9 vs 0.8) already makes a large PSI.
   */
  maxConfidencePsi: number | null;
  maxConfidenceDrop: number;
}

export const DEFAULT_HEALTH_POLICY: HealthPolicy = {
  watchMs: 5 * 60_000,
  minFrames: 20,
  maxFailureRatio: 0.2,
  maxInferenceMs: null,
  minDetectionRatio: 0.3,
  minBaselineDetections: 20,
  // PSI's "significant shift" (the drift threshold, too).
  maxConfidencePsi: 0.25,
  maxConfidenceDrop: 0.15,
};

/**
 * Why a model was judged unhealthy, for machines: `crash` (the worker died or hung), `failures`
 * (inferences failed), `latency` (too slow), `quality` (it runs, but detects less, or less surely,
 * than the model it replaced).
 */
export type VerdictCode = 'crash' | 'failures' | 'latency' | 'quality';

export interface Verdict {
  healthy: boolean;
  /** Why not, in an operator's words. */
  reason?: string;
  code?: VerdictCode;
  /** Whether enough was seen for the rate rules (false: the verdict rests on hard failures only). */
  conclusive: boolean;
}

/**
 * Judges the new model's window (after the swap) against the previous model's window (before
 * it). Pure, so every rule is tested without timing.
 */
export function judge(after: InferenceTotals, before: InferenceTotals, policy: HealthPolicy, workerRestarted = false): Verdict {
  if (workerRestarted) return { healthy: false, reason: 'the inference worker crashed or hung on the new model', code: 'crash', conclusive: true };
  const sum = (t: InferenceTotals, cameras?: string[]) => {
    const s = { frames: 0, failures: 0, detections: 0, inferenceMsSum: 0, scores: new Array<number>(SCORE_BINS).fill(0), scoreSum: 0 };
    for (const [camera, v] of Object.entries(t)) {
      if (cameras && !cameras.includes(camera)) continue;
      s.frames += v.frames;
      s.failures += v.failures;
      s.detections += v.detections;
      s.inferenceMsSum += v.inferenceMsSum;
      v.scores?.forEach((n, i) => (s.scores[i] += n));
      s.scoreSum += v.scoreSum ?? 0;
    }
    return s;
  };
  const now = sum(after);
  const attempts = now.frames + now.failures;
  if (attempts > 0 && now.frames === 0 && now.failures >= Math.min(3, policy.minFrames)) {
    return { healthy: false, reason: `every inference failed (${now.failures} of ${attempts})`, code: 'failures', conclusive: true };
  }
  if (attempts < policy.minFrames) return { healthy: true, conclusive: false };
  const failureRatio = now.failures / attempts;
  if (failureRatio > policy.maxFailureRatio) {
    return { healthy: false, reason: `${now.failures} of ${attempts} inferences failed (${pct(failureRatio)}, limit ${pct(policy.maxFailureRatio)})`, code: 'failures', conclusive: true };
  }
  const meanMs = now.frames > 0 ? now.inferenceMsSum / now.frames : 0;
  if (policy.maxInferenceMs !== null && meanMs > policy.maxInferenceMs) {
    return { healthy: false, reason: `mean inference time ${meanMs.toFixed(0)} ms is above the limit of ${policy.maxInferenceMs} ms`, code: 'latency', conclusive: true };
  }
  // Only cameras both models saw: a camera that went dark says nothing about the model.
  const shared = Object.keys(after).filter((c) => after[c].frames > 0 && (before[c]?.frames ?? 0) > 0);
  const prev = sum(before, shared);
  const cur = sum(after, shared);
  if (policy.minDetectionRatio !== null) {
    if (prev.detections >= policy.minBaselineDetections && cur.frames >= policy.minFrames) {
      const prevRate = prev.detections / prev.frames;
      const curRate = cur.detections / cur.frames;
      if (curRate < prevRate * policy.minDetectionRatio) {
        return {
          healthy: false,
          reason: `quality: detections per frame fell from ${prevRate.toFixed(2)} to ${curRate.toFixed(2)} on cameras ${shared.join(', ')} (below ${pct(policy.minDetectionRatio)} of the previous model)`,
          code: 'quality',
          conclusive: true,
        };
      }
    }
  }
  if (policy.maxConfidencePsi !== null) {
    const prevN = prev.scores.reduce((a, b) => a + b, 0);
    const curN = cur.scores.reduce((a, b) => a + b, 0);
    if (prevN >= policy.minBaselineDetections && curN >= policy.minBaselineDetections) {
      const shift = psi(prev.scores, cur.scores);
      const [prevMean, curMean] = [prev.scoreSum / prevN, cur.scoreSum / curN];
      // Only a fall is a regression: a model surer of the same objects is not rolled back for it.
      if (shift > policy.maxConfidencePsi && prevMean - curMean > policy.maxConfidenceDrop) {
        return {
          healthy: false,
          reason: `quality: the confidence histogram shifted down against the previous model's (PSI ${shift.toFixed(2)}, limit ${policy.maxConfidencePsi}; mean score ${prevMean.toFixed(2)} → ${curMean.toFixed(2)}, more than ${policy.maxConfidenceDrop} lower) on cameras ${shared.join(', ')}`,
          code: 'quality',
          conclusive: true,
        };
      }
    }
  }
  return { healthy: true, conclusive: true };
}

function pct(x: number): string {
  return `${(x * 100).toFixed(0)}%`;
}

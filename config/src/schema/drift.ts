import { z } from 'zod';
import { positiveInt } from './common.js';

/**
 * Drift on the device: per camera and class, histograms of confidence and box size and the
 * detections per frame, compared every interval with the model's baseline (its
 * `kestrel.drift_baseline`, or one learned in the first minutes after it loads).
 *
 * Agent-level rather than per camera: the baseline belongs to the model, which every camera
 * shares, and the threshold and interval are the fleet's policy for reading PSI, not a property
 * of a scene. The histograms and the alert are still per camera (each scene drifts on its own),
 * and the learned baseline is per camera too.
 */
export const driftSchema = z.strictObject({
  enabled: z.boolean().default(true).describe('measure drift and publish it on <prefix>/<device>/<camera>/drift'),
  intervalS: z.number().min(10, 'must be at least 10 (seconds between drift comparisons)').default(300).describe('seconds between comparisons with the baseline'),
  threshold: z.number().positive().max(10).default(0.25).describe('PSI above which a camera is drifted (0.1–0.25 moderate, above 0.25 significant); cleared when it falls back to or below it'),
  minCount: positiveInt.default(200).describe('detections (frames, for the per-frame count) a histogram needs before it is compared; fewer keep accumulating'),
  boostSampler: z.boolean().default(true).describe('while a camera is drifted, the sampler\'s `drift` strategy keeps its frames (sampling.strategies.drift)'),
  learnMinutes: z.number().min(0).max(7 * 24 * 60).default(30).describe('a model without a baseline: learn one per camera over its first minutes of running (kept in <stateDir>/drift); 0 never learns'),
});

export type DriftConfig = z.output<typeof driftSchema>;

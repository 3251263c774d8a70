/**
 * The histograms drift is measured on, declared once: the agent fills them from live detections
 * and `kestrel eval` from a validation set's predictions, so a baseline and a window are always
 * binned the same way. Small fixed bins keep what travels (model metadata, MQTT stats) to a few
 * dozen integers per class.
 */

/** Confidence: equal-width bins over [minScore, 1] (only reported detections count). */
export const SCORE_BINS = 10;

/**
 * Box area as a share of the frame, log-spaced: objects differ in size by orders of magnitude
 * (a person at 40 m covers 0.05 % of the frame, one at 3 m 20 %), so equal-width bins would put
 * nearly everything in the first. Edges 10^-4 … 10^0 in 0.4-decade steps; below 10^-4 goes to
 * the first bin, the whole frame to the last.
 */
export const AREA_BINS = 10;
const AREA_LOG_MIN = -4;
const AREA_LOG_STEP = 0.4;

/**
 * Reported detections per frame: 0, 1, 2, 3, 4–5, 6–8, 9–12, 13+. The lower edges of each bin;
 * a model that goes blind moves every frame into the first.
 */
export const COUNT_EDGES = [0, 1, 2, 3, 4, 6, 9, 13] as const;

export interface ClassHistograms {
  score: number[];
  area: number[];
}

/** Counts over a set of frames: per class, confidence and area; per frame, how many were reported. */
export interface DriftHistograms {
  /** The lowest score that counts (a camera's `filters.minScore`, or the one a baseline was made with). */
  minScore: number;
  frames: number;
  /** Reported detections per frame, COUNT_EDGES bins. */
  count: number[];
  classes: Record<string, ClassHistograms>;
}

export interface BinnedDetection {
  label: string;
  score: number;
  /** [x1, y1, x2, y2] in the frame's pixels. */
  box: readonly [number, number, number, number] | readonly number[];
}

export function scoreBin(score: number, minScore: number): number {
  const span = 1 - minScore;
  if (!(span > 0)) return SCORE_BINS - 1;
  const i = Math.floor(((score - minScore) / span) * SCORE_BINS);
  return clampBin(i, SCORE_BINS);
}

/** `share`: box area ÷ frame area, 0..1. */
export function areaBin(share: number): number {
  if (!(share > 0)) return 0;
  return clampBin(Math.floor((Math.log10(share) - AREA_LOG_MIN) / AREA_LOG_STEP), AREA_BINS);
}

export function countBin(n: number): number {
  let bin = 0;
  for (let i = 0; i < COUNT_EDGES.length; i++) if (n >= COUNT_EDGES[i]) bin = i;
  return bin;
}

function clampBin(i: number, bins: number): number {
  return Number.isFinite(i) ? Math.min(bins - 1, Math.max(0, i)) : 0;
}

export function emptyHistograms(minScore: number): DriftHistograms {
  return { minScore, frames: 0, count: new Array(COUNT_EDGES.length).fill(0), classes: {} };
}

/**
 * Adds one frame's detections (those at or above `h.minScore`; lower ones are the tracker's, not
 * reported) to `h`, in place. `frameArea`: the frame's width × height in the boxes' pixels.
 * `maxClasses` bounds the table: a model with thousands of labels cannot grow it without end.
 */
export function addFrame(h: DriftHistograms, detections: readonly BinnedDetection[], frameArea: number, maxClasses = 64): void {
  let reported = 0;
  for (const d of detections) {
    if (d.score < h.minScore) continue;
    reported++;
    let c = h.classes[d.label];
    if (!c) {
      if (Object.keys(h.classes).length >= maxClasses) continue;
      c = h.classes[d.label] = { score: new Array(SCORE_BINS).fill(0), area: new Array(AREA_BINS).fill(0) };
    }
    c.score[scoreBin(d.score, h.minScore)]++;
    const [x1, y1, x2, y2] = d.box;
    const share = frameArea > 0 ? (Math.max(0, x2 - x1) * Math.max(0, y2 - y1)) / frameArea : 0;
    c.area[areaBin(share)]++;
  }
  h.frames++;
  h.count[countBin(reported)]++;
}

/** Adds `from`'s counts to `into`, in place (same minScore and bins). */
export function mergeHistograms(into: DriftHistograms, from: DriftHistograms): void {
  into.frames += from.frames;
  from.count.forEach((n, i) => (into.count[i] += n));
  for (const [label, c] of Object.entries(from.classes)) {
    const mine = (into.classes[label] ??= { score: new Array(SCORE_BINS).fill(0), area: new Array(AREA_BINS).fill(0) });
    c.score.forEach((n, i) => (mine.score[i] += n));
    c.area.forEach((n, i) => (mine.area[i] += n));
  }
}

export function total(counts: readonly number[]): number {
  return counts.reduce((a, b) => a + b, 0);
}

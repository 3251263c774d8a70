import { iou } from '@kestrel/core/detect/box';
import type { Box } from '@kestrel/core/image/letterbox';
import { minCostAssignment } from '../../track/assignment.js';

/**
 * Tracking metrics: CLEAR MOT (Bernardin & Stiefelhagen 2008: MOTA, ID switches, with the
 * fragmentation count of Li et al. 2009) and IDF1 (Ristani et al. 2016), boxes matched at
 * IoU ≥ 0.5. Written here, not taken from a package: the reference implementation
 * (py-motmetrics) is Python, and these are a hundred lines whose every step a test can check by hand.
 */

export interface Labelled {
  id: number;
  box: Box;
}

/** One frame: the true objects and the tracker's output. */
export interface EvalFrame {
  truth: readonly Labelled[];
  tracks: readonly Labelled[];
}

export interface TrackingScores {
  /** 1 − (misses + false positives + ID switches) / true boxes. */
  mota: number;
  /** 2·IDTP / (true boxes + tracker boxes), under the best one-to-one pairing of identities. */
  idf1: number;
  /** Frames in which the paired track covers its true object (IDF1's IDTP). */
  idTruePositives: number;
  idSwitches: number;
  /** Times a true object's tracked run was cut and later taken up again. */
  fragmentations: number;
  misses: number;
  falsePositives: number;
  truthBoxes: number;
  trackBoxes: number;
  /** Distinct true objects and distinct tracker ids over the sequence. */
  trueObjects: number;
  trackIds: number;
}

export const MATCH_IOU = 0.5;

/** Scores of several sequences taken together (as one long sequence with distinct ids). */
export function combineScores(parts: readonly TrackingScores[]): TrackingScores {
  const sum = (key: keyof TrackingScores) => parts.reduce((a, p) => a + p[key], 0);
  const truthBoxes = sum('truthBoxes');
  const trackBoxes = sum('trackBoxes');
  const [misses, falsePositives, idSwitches, idTruePositives] = [sum('misses'), sum('falsePositives'), sum('idSwitches'), sum('idTruePositives')];
  return {
    mota: truthBoxes ? 1 - (misses + falsePositives + idSwitches) / truthBoxes : 1,
    idf1: truthBoxes + trackBoxes ? (2 * idTruePositives) / (truthBoxes + trackBoxes) : 1,
    idTruePositives,
    idSwitches,
    fragmentations: sum('fragmentations'),
    misses,
    falsePositives,
    truthBoxes,
    trackBoxes,
    trueObjects: sum('trueObjects'),
    trackIds: sum('trackIds'),
  };
}

export function scoreTracking(frames: readonly EvalFrame[]): TrackingScores {
  let misses = 0;
  let falsePositives = 0;
  let idSwitches = 0;
  let fragmentations = 0;
  let truthBoxes = 0;
  let trackBoxes = 0;
  /** The track each true object was last matched to (over all past frames). */
  const lastMatch = new Map<number, number>();
  /** The matches of the previous frame, kept when still valid (CLEAR MOT's correspondence rule). */
  let previous = new Map<number, number>();
  /** Per true object: was it matched when last present, and has it ever been. */
  const tracked = new Map<number, { now: boolean; ever: boolean }>();
  /** Per (truth, track) pair: frames matched at IoU ≥ 0.5, for IDF1. */
  const overlap = new Map<number, Map<number, number>>();
  const truthIds = new Set<number>();
  const trackIds = new Set<number>();

  for (const { truth, tracks } of frames) {
    truthBoxes += truth.length;
    trackBoxes += tracks.length;
    for (const g of truth) truthIds.add(g.id);
    for (const h of tracks) trackIds.add(h.id);
    for (const g of truth) {
      for (const h of tracks) {
        if (iou(g.box, h.box) < MATCH_IOU) continue;
        const row = overlap.get(g.id) ?? new Map<number, number>();
        row.set(h.id, (row.get(h.id) ?? 0) + 1);
        overlap.set(g.id, row);
      }
    }

    // 1. Keep last frame's pairs that still overlap enough.
    const current = new Map<number, number>();
    const trackById = new Map(tracks.map((h) => [h.id, h]));
    for (const g of truth) {
      const h = previous.get(g.id);
      const hyp = h === undefined ? undefined : trackById.get(h);
      if (hyp && iou(g.box, hyp.box) >= MATCH_IOU) current.set(g.id, hyp.id);
    }
    // 2. Pair the rest by least total (1 − IoU).
    const usedTracks = new Set(current.values());
    const freeTruth = truth.filter((g) => !current.has(g.id));
    const freeTracks = tracks.filter((h) => !usedTracks.has(h.id));
    const cost = freeTruth.map((g) => freeTracks.map((h) => {
      const v = iou(g.box, h.box);
      return v >= MATCH_IOU ? 1 - v : Infinity;
    }));
    minCostAssignment(cost).forEach((j, i) => {
      if (j >= 0) current.set(freeTruth[i].id, freeTracks[j].id);
    });
    // 3. Count.
    for (const g of truth) {
      const h = current.get(g.id);
      const state = tracked.get(g.id) ?? { now: false, ever: false };
      if (h === undefined) {
        misses++;
        state.now = false;
      } else {
        const before = lastMatch.get(g.id);
        if (before !== undefined && before !== h) idSwitches++;
        lastMatch.set(g.id, h);
        if (!state.now && state.ever) fragmentations++;
        state.now = true;
        state.ever = true;
      }
      tracked.set(g.id, state);
    }
    falsePositives += tracks.length - current.size;
    previous = current;
  }

  const idTruePositives = identityTruePositives(overlap);
  return {
    mota: truthBoxes ? 1 - (misses + falsePositives + idSwitches) / truthBoxes : 1,
    idf1: truthBoxes + trackBoxes ? (2 * idTruePositives) / (truthBoxes + trackBoxes) : 1,
    idTruePositives,
    idSwitches,
    fragmentations,
    misses,
    falsePositives,
    truthBoxes,
    trackBoxes,
    trueObjects: truthIds.size,
    trackIds: trackIds.size,
  };
}

/** IDTP: the most frames matched under a one-to-one pairing of true identities with track ids. */
function identityTruePositives(overlap: Map<number, Map<number, number>>): number {
  const truthIds = [...overlap.keys()];
  const trackIds = [...new Set(truthIds.flatMap((g) => [...overlap.get(g)!.keys()]))];
  const cost = truthIds.map((g) => trackIds.map((h) => {
    const n = overlap.get(g)!.get(h);
    return n ? -n : Infinity;
  }));
  let total = 0;
  minCostAssignment(cost).forEach((j, i) => {
    if (j >= 0) total += overlap.get(truthIds[i])!.get(trackIds[j])!;
  });
  return total;
}

// The tracker as it was before issue #20 (greedy IoU matching within one label, last-box
// velocity, confirmed tracks ended after maxAge frames), kept only so `kestrel bench track` can
// show the old behaviour beside the new on the same input. Not used by the agent.
import { iou } from '@kestrel/core/detect/box';
import type { Detection } from '@kestrel/core/detect/types';
import type { Box } from '@kestrel/core/image/letterbox';

export interface BaselineOptions {
  /** Frames an object must be matched in before its track is confirmed (and reported). Default 3. */
  minHits?: number;
  /** A confirmed track ends after this many consecutive frames without a match. Default 30. */
  maxAge?: number;
  /** Detections at or above this score start tracks and are matched first. Default 0.5. */
  highScore?: number;
  /**
   * Detections between this and `highScore` only keep existing tracks going (ByteTrack's second
   * association: an occluded or blurred object scores low for a few frames but is the same
   * object). Below it they are ignored. Default 0.1.
   */
  lowScore?: number;
  /** Least IoU between a track's predicted box and a high-score detection to match. Default 0.3. */
  matchIou?: number;
  /** Least IoU for the low-score second pass (stricter: weak detections are less sure). Default 0.5. */
  lowMatchIou?: number;
  /** Longest a track's motion is extrapolated while it is unmatched. Default 1000 ms. */
  maxPredictMs?: number;
}

/** A tracked object. The tracker owns and updates it; read it, do not change it. */
export interface BaselineTrack {
  readonly id: number;
  readonly classId: number;
  readonly label: string;
  /** Box of the last matched detection, source pixels. */
  box: Box;
  /** Score of the last matched detection. */
  score: number;
  /** Best score over the track's life. */
  bestScore: number;
  /** Frames in which it was matched. */
  hits: number;
  /** Consecutive frames without a match (0 when matched in the last frame). */
  missed: number;
  /** Reached `minHits`: a real object, reported. */
  confirmed: boolean;
  /** Epoch ms of the first and the last matched frame. */
  firstSeen: number;
  lastSeen: number;
  /** Box centre velocity, source pixels per ms. */
  velocity: [number, number];
}

/** What one frame did to the tracks. */
export interface BaselineStep {
  /** Tracks matched in this frame, confirmed or not. */
  matched: BaselineTrack[];
  /** Tracks confirmed in this frame (also in `matched`). */
  confirmed: BaselineTrack[];
  /** Confirmed tracks that ended in this frame (unmatched for `maxAge` frames). */
  ended: BaselineTrack[];
}

const DEFAULTS: Required<BaselineOptions> = {
  minHits: 3,
  maxAge: 30,
  highScore: 0.5,
  lowScore: 0.1,
  matchIou: 0.3,
  lowMatchIou: 0.5,
  maxPredictMs: 1000,
};

/**
 * Multi-object tracker in the manner of ByteTrack, for one camera: each frame, detections are
 * associated to tracks by IoU between the detection and the track's motion-predicted box
 * (constant velocity), greedily by IoU descending, within a class. High-score detections are
 * matched first against every track, lost ones included; low-score detections then get a
 * second, stricter chance with the tracks that were seen in the previous frame. New tracks come
 * only from unmatched high-score detections; a track is confirmed after `minHits` matches
 * (an unconfirmed track dies on its first miss, as in SORT/ByteTrack, so a flicker never
 * becomes an object); a confirmed track survives `maxAge - 1` missed frames with its id.
 *
 * Prediction is what keeps ids right when two objects of one class cross: the last box of each
 * is closer to the other object near the crossing point, their predicted boxes are not.
 */
export class BaselineTracker {
  private readonly options: Required<BaselineOptions>;
  private tracks: BaselineTrack[] = [];
  private nextId = 1;

  constructor(options: BaselineOptions = {}) {
    this.options = { ...DEFAULTS, ...options };
  }

  /** Feeds one frame's detections (source pixels) taken at `time` (epoch ms). */
  update(detections: readonly Detection[], time: number): BaselineStep {
    const o = this.options;
    const high = detections.filter((d) => d.score >= o.highScore);
    const low = detections.filter((d) => d.score >= o.lowScore && d.score < o.highScore);
    const predicted = new Map(this.tracks.map((t) => [t, this.predict(t, time)]));

    const first = greedyMatch(this.tracks, high, predicted, o.matchIou);
    const secondPool = first.unmatchedTracks.filter((t) => t.missed === 0);
    const second = greedyMatch(secondPool, low, predicted, o.lowMatchIou);

    const step: BaselineStep = { matched: [], confirmed: [], ended: [] };
    for (const [track, det] of [...first.pairs, ...second.pairs]) {
      this.apply(track, det, time);
      step.matched.push(track);
      if (!track.confirmed && track.hits >= o.minHits) {
        track.confirmed = true;
        step.confirmed.push(track);
      }
    }

    const matched = new Set(step.matched);
    const survivors: BaselineTrack[] = [];
    for (const track of this.tracks) {
      if (matched.has(track)) {
        survivors.push(track);
        continue;
      }
      if (!track.confirmed) continue; // a tentative track dies on its first miss
      track.missed++;
      if (track.missed >= o.maxAge) step.ended.push(track);
      else survivors.push(track);
    }

    for (const det of first.unmatchedDetections) {
      const track = this.birth(det, time);
      survivors.push(track);
      step.matched.push(track);
      if (track.confirmed) step.confirmed.push(track);
    }
    this.tracks = survivors;
    return step;
  }

  /** Live tracks (confirmed and tentative, lost ones included). */
  get active(): readonly BaselineTrack[] {
    return this.tracks;
  }

  /** Ends everything: returns the confirmed tracks that were live. */
  reset(): BaselineTrack[] {
    const confirmed = this.tracks.filter((t) => t.confirmed);
    this.tracks = [];
    return confirmed;
  }

  /** The track's box moved along its velocity to `time` (at most `maxPredictMs` ahead). */
  predict(track: BaselineTrack, time: number): Box {
    const dt = Math.min(Math.max(0, time - track.lastSeen), this.options.maxPredictMs);
    const dx = track.velocity[0] * dt;
    const dy = track.velocity[1] * dt;
    const b = track.box;
    return [b[0] + dx, b[1] + dy, b[2] + dx, b[3] + dy];
  }

  private apply(track: BaselineTrack, det: Detection, time: number): void {
    const dt = time - track.lastSeen;
    if (dt > 0) {
      const [cx0, cy0] = centre(track.box);
      const [cx1, cy1] = centre(det.box);
      const measured: [number, number] = [(cx1 - cx0) / dt, (cy1 - cy0) / dt];
      // The first measurement is taken as is; later ones are smoothed against detector jitter.
      track.velocity = track.hits === 1 ? measured : [0.5 * track.velocity[0] + 0.5 * measured[0], 0.5 * track.velocity[1] + 0.5 * measured[1]];
    }
    track.box = [...det.box];
    track.score = det.score;
    track.bestScore = Math.max(track.bestScore, det.score);
    track.hits++;
    track.missed = 0;
    track.lastSeen = time;
  }

  private birth(det: Detection, time: number): BaselineTrack {
    return {
      id: this.nextId++,
      classId: det.classId,
      label: det.label,
      box: [...det.box],
      score: det.score,
      bestScore: det.score,
      hits: 1,
      missed: 0,
      confirmed: this.options.minHits <= 1,
      firstSeen: time,
      lastSeen: time,
      velocity: [0, 0],
    };
  }
}

interface MatchResult {
  pairs: Array<[BaselineTrack, Detection]>;
  unmatchedTracks: BaselineTrack[];
  unmatchedDetections: Detection[];
}

/** Pairs by IoU descending, each track and detection used once, same class only. */
function greedyMatch(tracks: readonly BaselineTrack[], detections: readonly Detection[], predicted: Map<BaselineTrack, Box>, minIou: number): MatchResult {
  const candidates: Array<{ t: number; d: number; iou: number }> = [];
  tracks.forEach((track, t) => {
    const box = predicted.get(track)!;
    detections.forEach((det, d) => {
      if (det.classId !== track.classId) return;
      const v = iou(box, det.box);
      if (v >= minIou) candidates.push({ t, d, iou: v });
    });
  });
  candidates.sort((a, b) => b.iou - a.iou);
  const usedT = new Set<number>();
  const usedD = new Set<number>();
  const pairs: Array<[BaselineTrack, Detection]> = [];
  for (const c of candidates) {
    if (usedT.has(c.t) || usedD.has(c.d)) continue;
    usedT.add(c.t);
    usedD.add(c.d);
    pairs.push([tracks[c.t], detections[c.d]]);
  }
  return {
    pairs,
    unmatchedTracks: tracks.filter((_, i) => !usedT.has(i)),
    unmatchedDetections: detections.filter((_, i) => !usedD.has(i)),
  };
}

function centre(b: Box): [number, number] {
  return [(b[0] + b[2]) / 2, (b[1] + b[3]) / 2];
}

import { iou } from '@kestrel/core/detect/box';
import type { Detection } from '@kestrel/core/detect/types';
import type { Box } from '@kestrel/core/image/letterbox';
import type { CameraConfig } from '@kestrel/config';
import { minCostAssignment } from './assignment.js';
import { ClassGroups, LabelVote } from './classes.js';
import { BoxKalman } from './kalman.js';

/** The camera's tracker settings and the score from which a detection counts as confident. */
export type TrackerSettings = CameraConfig['tracker'] & Pick<CameraConfig['filters'], 'minScore'>;

/** A tracked object. The tracker owns and updates it; read it, do not change it. */
export interface Track {
  readonly id: number;
  /** Decided by a vote over the track's detections (see LabelVote). */
  readonly classId: number;
  readonly label: string;
  /** Box of the last matched detection, source pixels. */
  readonly box: Box;
  /** Score of the last matched detection. */
  readonly score: number;
  /** Best score over the track's life. */
  readonly bestScore: number;
  /** Frames in which it was matched. */
  readonly hits: number;
  /** Consecutive frames without a match (0 when matched in the last frame). */
  readonly missed: number;
  /** Reached `minHits`: a real object, reported. */
  readonly confirmed: boolean;
  /** Has kept its place for a while (a parked car, a left bag): it survives longer unseen. */
  readonly stationary: boolean;
  /** Epoch ms of the first and the last matched frame. */
  readonly firstSeen: number;
  readonly lastSeen: number;
}

/** What one frame did to the tracks. */
export interface TrackerStep {
  /** Tracks matched in this frame, confirmed or not. */
  matched: Track[];
  /** Tracks confirmed in this frame (also in `matched`). */
  confirmed: Track[];
  /** Confirmed tracks that ended in this frame (unseen for the lost time). */
  ended: Track[];
  /** The track each detection of the frame went to (a duplicate on a track's box included). */
  assigned: Map<Detection, Track>;
}

/** A detection this much on top of one that was matched is the same object seen twice (per-class NMS). */
const DUPLICATE_IOU = 0.7;
/** A track that kept within this fraction of its height of one place ... */
const STATIONARY_DRIFT = 0.25;
/** ... for this long is stationary. */
const STATIONARY_AFTER_MS = 2000;
/** Below this speed, in box heights per second, a lost track may be found again at its last box. */
const SLOW_SPEED = 0.25;
/** Within a label group, a detection of the track's own label is preferred on a near tie. */
const OTHER_LABEL_COST = 0.05;

class TrackState implements Track {
  classId: number;
  label: string;
  box: Box;
  score: number;
  bestScore: number;
  hits = 1;
  missed = 0;
  confirmed: boolean;
  firstSeen: number;
  lastSeen: number;
  readonly kalman: BoxKalman;
  /** Time the Kalman state stands for. */
  kalmanTime: number;
  /** Where and since when the object has kept its place. */
  anchor: [number, number];
  anchorSince: number;
  private readonly vote: LabelVote;

  constructor(
    readonly id: number,
    det: Detection,
    time: number,
    confirmed: boolean,
  ) {
    this.vote = new LabelVote(det);
    this.classId = det.classId;
    this.label = det.label;
    this.box = [...det.box];
    this.score = det.score;
    this.bestScore = det.score;
    this.confirmed = confirmed;
    this.firstSeen = time;
    this.lastSeen = time;
    this.kalman = new BoxKalman(det.box);
    this.kalmanTime = time;
    this.anchor = centre(det.box);
    this.anchorSince = time;
  }

  /** Moves less than SLOW_SPEED heights a second (Kalman velocity). */
  get slow(): boolean {
    const [vx, vy] = this.kalman.velocity();
    return Math.hypot(vx, vy) * 1000 < SLOW_SPEED * (this.box[3] - this.box[1]);
  }

  get stationary(): boolean {
    return this.lastSeen - this.anchorSince >= STATIONARY_AFTER_MS;
  }

  /** Counts a detection toward the label vote (a matched one, or a duplicate on the same box). */
  voteFor(det: Detection): void {
    this.vote.add(det);
    this.label = this.vote.label;
    this.classId = this.vote.classId;
  }

  apply(det: Detection, time: number): void {
    this.kalman.update(det.box);
    this.voteFor(det);
    this.box = [...det.box];
    this.score = det.score;
    this.bestScore = Math.max(this.bestScore, det.score);
    this.hits++;
    this.missed = 0;
    this.lastSeen = time;
    const c = centre(det.box);
    const height = det.box[3] - det.box[1];
    if (Math.hypot(c[0] - this.anchor[0], c[1] - this.anchor[1]) > STATIONARY_DRIFT * height) {
      this.anchor = c;
      this.anchorSince = time;
    }
  }
}

/**
 * Multi-object tracker for one camera, after ByteTrack (two-stage association by score) and
 * OC-SORT (recovering a lost track from its last observation), written for Kestrel's events:
 *
 * 1. Every track's constant-velocity Kalman state is moved to the frame's time.
 * 2. Confident detections (≥ filters.minScore) are matched to confirmed tracks, lost ones
 *    included, by IoU with the predicted box (min-cost assignment, gated by `iouThreshold`).
 * 3. Weak detections (≥ lowScore) get a second, stricter chance (`lowIouThreshold`) with the
 *    confirmed tracks seen in the previous frame: a half-hidden or blurred object scores low for a
 *    few frames and is the same object.
 * 4. Tentative tracks take what is left, weak or confident: a new object near the threshold
 *    still reaches `minHits`.
 * 5. Lost tracks that moved slowly get the confident detections still left by IoU with their
 *    last observed box: an object that stopped comes back where it was, not where the Kalman
 *    filter's small remaining velocity would have carried it over many seconds.
 * 6. A detection on top of one just matched, of a label of the same group, is the same object
 *    seen twice: it votes for the label and starts nothing. Any other detection at or above
 *    `startScore` starts a tentative track.
 *
 * Labels of one `classGroups` entry match each other and the track's label is voted. A tentative
 * track dies on its first miss (a flicker never becomes an object); a confirmed one lives
 * `lostSeconds` unseen (`stationaryLostSeconds` when it had stood still) with its id.
 */
export class Tracker {
  private tracks: TrackState[] = [];
  private nextId = 1;
  private readonly groups: ClassGroups;

  constructor(private readonly settings: TrackerSettings) {
    this.groups = new ClassGroups(settings.classGroups);
  }

  /** Feeds one frame's detections (source pixels) taken at `time` (epoch ms). */
  update(detections: readonly Detection[], time: number): TrackerStep {
    const s = this.settings;
    // Unseen tracks keep moving for their whole lost time: a walker hidden behind a pillar comes
    // out where its velocity says (capping the prediction at 1 s lost most of them on the bench).
    for (const t of this.tracks) {
      t.kalman.predict(time - t.kalmanTime);
      t.kalmanTime = Math.max(t.kalmanTime, time);
    }
    const predicted = (t: TrackState) => t.kalman.box();
    const observed = (t: TrackState) => t.box;

    const high = detections.filter((d) => d.score >= s.minScore);
    const low = detections.filter((d) => d.score >= s.lowScore && d.score < s.minScore);
    const confirmed = this.tracks.filter((t) => t.confirmed);
    const tentative = this.tracks.filter((t) => !t.confirmed);

    const pairs: Array<[TrackState, Detection]> = [];
    const first = this.match(confirmed, high, predicted, s.iouThreshold, pairs);
    const second = this.match(first.tracks.filter((t) => t.missed === 0), low, predicted, s.lowIouThreshold, pairs);
    const lowLeft = second.detections;
    const third = this.match(tentative, [...first.detections, ...lowLeft], predicted, s.iouThreshold, pairs);
    // Only slow tracks: a walker's last box is where someone else walks next (tried on the bench:
    // matching moving tracks there stole other people's detections, even at IoU 0.5).
    const lostLeft = first.tracks.filter((t) => t.missed > 0 && t.slow);
    const fourth = this.match(lostLeft, third.detections.filter((d) => d.score >= s.minScore), observed, s.iouThreshold, pairs);

    const step: TrackerStep = { matched: [], confirmed: [], ended: [], assigned: new Map() };
    for (const [track, det] of pairs) {
      track.apply(det, time);
      step.matched.push(track);
      step.assigned.set(det, track);
      if (!track.confirmed && track.hits >= s.minHits) {
        track.confirmed = true;
        step.confirmed.push(track);
      }
    }

    const unmatched = third.detections.filter((d) => !fourth.matched.has(d));
    const births: TrackState[] = [];
    for (const det of unmatched) {
      const twin = pairs.find(([track, d]) => this.groups.compatible(track.label, det.label) && iou(d.box, det.box) >= DUPLICATE_IOU);
      if (twin) {
        twin[0].voteFor(det);
        step.assigned.set(det, twin[0]);
        continue;
      }
      if (det.score < s.startScore) continue;
      const track = new TrackState(this.nextId++, det, time, s.minHits <= 1);
      births.push(track);
      step.matched.push(track);
      step.assigned.set(det, track);
      if (track.confirmed) step.confirmed.push(track);
    }

    const matched = new Set(step.matched);
    const survivors: TrackState[] = [];
    for (const track of this.tracks) {
      if (matched.has(track)) {
        survivors.push(track);
        continue;
      }
      if (!track.confirmed) continue; // a tentative track dies on its first miss
      track.missed++;
      const lostMs = 1000 * (track.stationary ? Math.max(s.stationaryLostSeconds, s.lostSeconds) : s.lostSeconds);
      if (time - track.lastSeen >= lostMs) step.ended.push(track);
      else survivors.push(track);
    }
    this.tracks = [...survivors, ...births];
    return step;
  }

  /** Live tracks (confirmed and tentative, lost ones included). */
  get active(): readonly Track[] {
    return this.tracks;
  }

  /** Ends everything: returns the confirmed tracks that were live. */
  reset(): Track[] {
    const confirmed = this.tracks.filter((t) => t.confirmed);
    this.tracks = [];
    return confirmed;
  }

  /**
   * Min-cost assignment of `detections` to `tracks` on 1 − IoU (with `boxOf(track)`), pairs below
   * `minIou` or across label groups forbidden. Appends the pairs; returns what is left.
   */
  private match(
    tracks: readonly TrackState[],
    detections: readonly Detection[],
    boxOf: (t: TrackState) => Box,
    minIou: number,
    pairs: Array<[TrackState, Detection]>,
  ): { tracks: TrackState[]; detections: Detection[]; matched: Set<Detection> } {
    const matched = new Set<Detection>();
    if (tracks.length === 0 || detections.length === 0) return { tracks: [...tracks], detections: [...detections], matched };
    const cost = tracks.map((t) => {
      const box = boxOf(t);
      return detections.map((d) => {
        if (!this.groups.compatible(t.label, d.label)) return Infinity;
        const overlap = iou(box, d.box);
        if (overlap < minIou) return Infinity;
        return 1 - overlap + (d.label === t.label ? 0 : OTHER_LABEL_COST);
      });
    });
    const assignment = minCostAssignment(cost);
    const left: TrackState[] = [];
    assignment.forEach((j, i) => {
      if (j < 0) left.push(tracks[i]);
      else {
        pairs.push([tracks[i], detections[j]]);
        matched.add(detections[j]);
      }
    });
    return { tracks: left, detections: detections.filter((d) => !matched.has(d)), matched };
  }
}

function centre(b: Box): [number, number] {
  return [(b[0] + b[2]) / 2, (b[1] + b[3]) / 2];
}

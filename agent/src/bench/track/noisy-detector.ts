import type { Detection } from '@kestrel/core/detect/types';
import type { Box } from '@kestrel/core/image/letterbox';
import { Random } from './random.js';
import type { Scene, TruthBox } from './scenes.js';

/**
 * How a real detector errs, as seen in the field: it misses objects now and then, its boxes
 * jitter, its scores flicker around the threshold (worse for half-hidden objects), it calls one
 * bag a backpack, a suitcase or both at once (NMS runs per class), and it sees things that are
 * not there, mostly faintly.
 */
export interface DetectorNoise {
  /** Chance a present object is not detected in a frame. */
  missRate: number;
  /** Chance per frame that a present object drops out for a run of frames (a turn, a pose, a shadow). */
  dropoutRate: number;
  /** The longest such run, in frames (runs are 2 to this long). */
  dropoutFrames: number;
  /** Frame-to-frame score spread (standard deviation) around the object's typical score. */
  scoreSpread: number;
  /** Box side jitter, as a fraction of the box's width/height (standard deviation). */
  jitter: number;
  /** Chance a look-alike label (backpack → suitcase, car → truck) is given instead. */
  labelFlicker: number;
  /** Chance a second detection with a look-alike label sits on the same box. */
  duplicateRate: number;
  /** False detections per frame (mean), most of them faint. */
  falsePerFrame: number;
  /** Share of false detections that score high enough to start a track. */
  confidentFalseShare: number;
  /** The detector's own floor (the agent runs it at the tracker's lowScore, 0.1 by default). */
  floor: number;
}

export const FIELD_NOISE: DetectorNoise = {
  missRate: 0.1,
  dropoutRate: 0.02,
  dropoutFrames: 6,
  scoreSpread: 0.15,
  jitter: 0.04,
  labelFlicker: 0.35,
  duplicateRate: 0.15,
  falsePerFrame: 0.6,
  confidentFalseShare: 0.1,
  floor: 0.1,
};

const LOOK_ALIKES: Record<string, Array<[string, number]>> = {
  backpack: [['suitcase', 28], ['handbag', 26]],
  suitcase: [['backpack', 24], ['handbag', 26]],
  handbag: [['backpack', 24], ['suitcase', 28]],
  car: [['truck', 7], ['bus', 5]],
};

/** Turns each frame's truth into detections; deterministic for a seed. */
export class NoisyDetector {
  private readonly random: Random;
  /** Frames each object has still to stay undetected in its current dropout. */
  private readonly dropout = new Map<number, number>();

  constructor(
    private readonly scene: Scene,
    seed: number,
    private readonly noise: DetectorNoise = FIELD_NOISE,
  ) {
    this.random = new Random(seed);
  }

  detect(truth: readonly TruthBox[]): Detection[] {
    const { random: r, noise: n } = this;
    const out: Detection[] = [];
    for (const t of truth) {
      const left = this.dropout.get(t.id) ?? 0;
      if (left > 0) {
        this.dropout.set(t.id, left - 1);
        continue;
      }
      if (r.next() < n.dropoutRate) {
        this.dropout.set(t.id, Math.floor(r.between(1, n.dropoutFrames)));
        continue;
      }
      if (r.next() < n.missRate) continue;
      const base = this.scene.objects[t.id - 1].baseScore;
      // Half-hidden objects score lower: visibility 0.5 takes a fifth off.
      const score = clamp(base * (0.6 + 0.4 * t.visibility) + r.normal(n.scoreSpread), 0, 0.99);
      if (score < n.floor) continue;
      const box = this.jittered(t.box);
      const alikes = LOOK_ALIKES[t.label];
      let [label, classId] = [t.label, t.classId];
      if (alikes && r.next() < n.labelFlicker) [label, classId] = r.pick(alikes);
      out.push({ label, classId, score, box });
      if (alikes && r.next() < n.duplicateRate) {
        const group: Array<[string, number]> = [[t.label, t.classId], ...alikes];
        const [other, otherId] = r.pick(group.filter(([l]) => l !== label));
        const second = score * r.between(0.6, 0.95);
        if (second >= n.floor) out.push({ label: other, classId: otherId, score: second, box: this.jittered(t.box) });
      }
    }
    // False detections: a Poisson count, person-sized boxes anywhere.
    let count = 0;
    let p = Math.exp(-n.falsePerFrame);
    let c = p;
    const u = r.next();
    while (u > c) {
      count++;
      p *= n.falsePerFrame / count;
      c += p;
    }
    for (let k = 0; k < count; k++) {
      const h = r.between(60, 170);
      const x = r.between(0, this.scene.width - h / 2);
      const y = r.between(h, this.scene.height);
      const score = r.next() < n.confidentFalseShare ? r.between(0.5, 0.7) : r.between(n.floor, 0.4);
      out.push({ label: 'person', classId: 0, score, box: [x, y - h, x + h / 2.8, y] });
    }
    return out;
  }

  private jittered(b: Box): Box {
    const { random: r, noise: n } = this;
    const w = b[2] - b[0];
    const h = b[3] - b[1];
    const box: Box = [b[0] + r.normal(n.jitter * w), b[1] + r.normal(n.jitter * h), b[2] + r.normal(n.jitter * w), b[3] + r.normal(n.jitter * h)];
    if (box[2] < box[0] + 1) box[2] = box[0] + 1;
    if (box[3] < box[1] + 1) box[3] = box[1] + 1;
    return box;
  }
}

function clamp(v: number, lo: number, hi: number): number {
  return Math.min(hi, Math.max(lo, v));
}

import type { Box } from '@kestrel/core/image/letterbox';
import { Random } from './random.js';

/**
 * Ground truth for the tracking bench: street-camera sequences with known trajectories, as boxes
 * per frame. No pixels: the tracker consumes detections, so what it needs is where each object
 * truly is and how much of it can be seen (the noisy detector turns that into detections).
 */

export interface SceneObject {
  /** Ground-truth identity: one per object for the whole sequence, across occlusions and exits. */
  id: number;
  label: string;
  classId: number;
  /** Box width and height at the bottom of the picture; objects farther up are smaller. */
  size: [number, number];
  /** Keyframes [time ms, x, y] of the box's bottom centre; between them it moves in a line, outside them it is absent. */
  path: Array<[number, number, number]>;
  /** The detector's typical confidence for it (far, dark or partly turned objects score lower). */
  baseScore: number;
}

export interface Scene {
  name: string;
  /** What it exercises. */
  about: string;
  width: number;
  height: number;
  fps: number;
  frames: number;
  objects: SceneObject[];
  /** Things in the picture that hide whoever passes behind them (a pillar, a parked van). */
  occluders: Box[];
}

/** One object in one frame, as it truly is. */
export interface TruthBox {
  id: number;
  label: string;
  classId: number;
  box: Box;
  /** Fraction of the box that can be seen (in the picture and not hidden). */
  visibility: number;
}

/** An object counts as present (in the ground truth, and for the detector) when at least this much of it shows. */
export const MIN_VISIBILITY = 0.5;

const W = 1280;
const H = 720;
const FPS = 10;
const CLASS_IDS: Record<string, number> = { person: 0, bicycle: 1, car: 2, motorcycle: 3, bus: 5, truck: 7, backpack: 24, handbag: 26, suitcase: 28 };
const SIZES: Record<string, [number, number]> = { person: [60, 170], car: [240, 130], backpack: [50, 60], suitcase: [50, 60], bicycle: [110, 90] };

/** The frame at `time` of every object present (visibility ≥ MIN_VISIBILITY), farthest first. */
export function truthAt(scene: Scene, frame: number): TruthBox[] {
  const time = (frame * 1000) / scene.fps;
  const placed = scene.objects.flatMap((o) => {
    const box = boxAt(o, time, scene.height);
    return box ? [{ o, box }] : [];
  });
  // Nearer objects (lower bottom edge) hide farther ones.
  placed.sort((a, b) => a.box[3] - b.box[3]);
  const out: TruthBox[] = [];
  placed.forEach(({ o, box }, i) => {
    const inFrame = overlapArea(box, [0, 0, scene.width, scene.height]) / area(box);
    const hiders = [...scene.occluders, ...placed.slice(i + 1).map((p) => p.box)];
    // Hidden fraction, summed over hiders (they rarely overlap each other on one object).
    const hidden = Math.min(1, hiders.reduce((sum, h) => sum + overlapArea(box, h), 0) / area(box));
    const visibility = Math.max(0, inFrame - hidden);
    if (visibility >= MIN_VISIBILITY) out.push({ id: o.id, label: o.label, classId: o.classId, box, visibility });
  });
  return out;
}

function boxAt(o: SceneObject, time: number, height: number): Box | undefined {
  const p = o.path;
  if (time < p[0][0] || time > p[p.length - 1][0]) return undefined;
  let k = 0;
  while (k < p.length - 2 && time > p[k + 1][0]) k++;
  const [t0, x0, y0] = p[k];
  const [t1, x1, y1] = p[k + 1] ?? p[k];
  const f = t1 > t0 ? (time - t0) / (t1 - t0) : 0;
  const x = x0 + f * (x1 - x0);
  const y = y0 + f * (y1 - y0);
  // Perspective: half size at the top of the picture, full size at the bottom.
  const scale = 0.5 + 0.5 * (y / height);
  const [w, h] = [o.size[0] * scale, o.size[1] * scale];
  return [x - w / 2, y - h, x + w / 2, y];
}

/** The bench set: each scene one thing that broke tracks, plus a busy street with all of them. */
export function benchScenes(seed: number, seconds = 30): Scene[] {
  const frames = Math.round(seconds * FPS);
  return [crossings(frames), occluded(frames), leaveAndReturn(frames), parked(frames), street(seed, frames)];
}

function object(label: string, path: Array<[number, number, number]>, baseScore: number): Omit<SceneObject, 'id'> {
  return { label, classId: CLASS_IDS[label], size: SIZES[label] ?? [60, 170], path, baseScore };
}

function scene(name: string, about: string, frames: number, objects: Omit<SceneObject, 'id'>[], occluders: Box[] = []): Scene {
  return { name, about, width: W, height: H, fps: FPS, frames, objects: objects.map((o, i) => ({ ...o, id: i + 1 })), occluders };
}

/** A walk across the picture at `speed` px/s starting at `start` ms, from x0 to x1 at height y. */
function walk(start: number, x0: number, x1: number, y: number, speed: number, y1 = y): Array<[number, number, number]> {
  const ms = (1000 * Math.hypot(x1 - x0, y1 - y)) / speed;
  return [
    [start, x0, y],
    [start + ms, x1, y1],
  ];
}

function crossings(frames: number): Scene {
  const objects: Omit<SceneObject, 'id'>[] = [];
  // Pairs walking towards each other at nearly one depth: they overlap, the nearer hides the farther.
  for (let k = 0; k < 4; k++) {
    const y = 420 + 60 * k;
    const start = 500 + 6000 * k;
    objects.push(object('person', walk(start, -40, W + 40, y, 130), 0.75));
    objects.push(object('person', walk(start, W + 40, -40, y + 25, 150), 0.55));
  }
  return scene('crossings', 'people passing each other (the nearer hides the farther)', frames, objects);
}

function occluded(frames: number): Scene {
  const pillar: Box = [560, 200, 720, 720];
  const objects = [0, 1, 2, 3, 4].map((k) => object('person', walk(800 + 5000 * k, k % 2 ? W + 40 : -40, k % 2 ? -40 : W + 40, 500 + 30 * k, 110 + 15 * k), 0.7));
  // One stops behind the pillar for two seconds, then walks on.
  objects.push(object('person', [[2000, 300, 640], [5500, 640, 640], [7500, 640, 640], [11000, 1000, 640]], 0.65));
  return scene('occlusion', 'people walking behind a pillar, one stopping there', frames, objects, [pillar]);
}

function leaveAndReturn(frames: number): Scene {
  const objects = [
    // Out of the right edge and back a second later, the same person.
    object('person', [[0, 900, 600], [3000, W + 60, 600], [4200, W + 60, 600], [7000, 900, 600], [9000, 900, 600]], 0.7),
    // Walks behind a parked van, hidden for about 1.5 s, and comes out the other side.
    object('person', walk(6000, 150, 850, 450, 140), 0.6),
    object('person', [[12000, -40, 650], [20000, W + 40, 650]], 0.8),
    object('person', [[15000, W + 40, 380], [26000, -40, 380]], 0.5),
  ];
  return scene('leave-return', 'objects leaving the picture and coming back, one behind a van', frames, objects, [[380, 250, 560, 470]]);
}

function parked(frames: number): Scene {
  const end = (frames * 1000) / FPS;
  const objects = [
    object('car', [[0, 300, 560], [end, 300, 560]], 0.45),
    object('suitcase', [[0, 900, 650], [end, 900, 650]], 0.45),
    object('backpack', [[3000, 1100, 500], [end, 1100, 500]], 0.5),
    object('person', walk(2000, -40, W + 40, 600, 120), 0.7),
    object('person', walk(9000, W + 40, -40, 640, 140), 0.7),
  ];
  return scene('parked', 'a parked car and left bags scored near the threshold, labels flickering, people passing in front', frames, objects);
}

/** About twelve people in view at a time (at least half visible), walking across at random heights, speeds and directions. */
function street(seed: number, frames: number): Scene {
  const random = new Random(seed);
  const end = (frames * 1000) / FPS;
  const objects: Omit<SceneObject, 'id'>[] = [];
  for (let start = -8000; start < end; start += random.between(500, 1300)) {
    const leftToRight = random.next() < 0.5;
    const y = random.between(300, 700);
    const speed = random.between(80, 170) * (0.5 + 0.5 * (y / H));
    const path = walk(start, leftToRight ? -40 : W + 40, leftToRight ? W + 40 : -40, y, speed, y + random.between(-60, 60));
    objects.push(object('person', path, random.between(0.3, 0.85)));
  }
  objects.push(object('car', walk(4000, W + 150, -150, 700, 250), 0.8));
  return scene('street', 'a busy pavement: ~12 people in view, crossings everywhere, a car passing', frames, objects);
}

function area(b: Box): number {
  return Math.max(0, b[2] - b[0]) * Math.max(0, b[3] - b[1]);
}

function overlapArea(a: Box, b: Box): number {
  return Math.max(0, Math.min(a[2], b[2]) - Math.max(a[0], b[0])) * Math.max(0, Math.min(a[3], b[3]) - Math.max(a[1], b[1]));
}

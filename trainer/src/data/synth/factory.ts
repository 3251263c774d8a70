// A synthetic factory line: parts on a moving conveyor belt, some with defects, under changing
// light, with motion blur and defocus. Labels are exact because the scene is drawn from them.
// Deterministic: image i of seed s is the same picture whatever `count` is.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Box, DatasetManifest, LabelBox } from '../types.js';
import { createRng, deriveSeed, pick, randInt, uniform, gaussian, type Rng } from '../rng.js';
import { writeManifest } from '../dataset.js';
import { formatYoloLabels } from '../yolo-labels.js';
import { splitIds } from '../split.js';
import { encodeJpeg } from '../image.js';
import { Canvas, sdSegment, type Rgb, type Sdf } from './canvas.js';
import { makePart, partColour, pointInside, PART_KINDS, type PartGeometry } from './parts.js';

export const FACTORY_CLASSES = ['part', 'scratch', 'dent', 'discoloration', 'missing_hole'] as const;
const [PART, SCRATCH, DENT, DISCOLOURATION, MISSING_HOLE] = [0, 1, 2, 3, 4];

export interface FactorySynthOptions {
  count?: number;
  seed?: number;
  /** Square frame size in pixels. */
  size?: number;
  /** Share of parts with at least one defect. */
  defectRate?: number;
  jpegQuality?: number;
}

export interface FactoryScene {
  width: number;
  height: number;
  data: Uint8Array;
  /** Boxes in pixels. */
  boxes: Array<{ classId: number; box: Box }>;
}

export async function synthFactoryDataset(dir: string, options: FactorySynthOptions = {}): Promise<{ dir: string; count: number; boxes: number }> {
  const count = options.count ?? 300;
  const seed = options.seed ?? 0;
  const size = options.size ?? 320;
  mkdirSync(join(dir, 'images'), { recursive: true });
  mkdirSync(join(dir, 'labels'), { recursive: true });
  const ids: string[] = [];
  let boxes = 0;
  for (let i = 0; i < count; i++) {
    const scene = renderFactoryScene(seed, i, size, options.defectRate ?? 0.6);
    const name = `frame_${String(i).padStart(5, '0')}`;
    writeFileSync(join(dir, 'images', `${name}.jpg`), await encodeJpeg(scene, options.jpegQuality ?? 92));
    const labels: LabelBox[] = scene.boxes.map(({ classId, box }) => ({ classId, box: [box[0] / size, box[1] / size, box[2] / size, box[3] / size] }));
    writeFileSync(join(dir, 'labels', `${name}.txt`), formatYoloLabels(labels));
    ids.push(`${name}.jpg`);
    boxes += labels.length;
  }
  const manifest: DatasetManifest = {
    schema: 1,
    name: 'factory-synth',
    classes: [...FACTORY_CLASSES],
    splits: splitIds(ids, { seed }),
    source: { generator: 'kestrel dataset synth factory', seed, count, size },
  };
  writeManifest(dir, manifest);
  return { dir, count, boxes };
}

/** One frame of the factory scene, `index` of the run seeded `seed`. */
export function renderFactoryScene(seed: number, index: number, size: number, defectRate = 0.6): FactoryScene {
  const rng = createRng(deriveSeed(seed, 'factory', index));
  const scale = size / 320;
  const canvas = new Canvas(size, size);
  const beltTop = Math.round(uniform(rng, 0.08, 0.16) * size);
  const beltBottom = size - Math.round(uniform(rng, 0.08, 0.16) * size);
  paintBelt(canvas, rng, beltTop, beltBottom, scale);

  const boxes: FactoryScene['boxes'] = [];
  const placed: Array<{ x: number; y: number; r: number }> = [];
  const partCount = randInt(rng, 1, 3);
  for (let p = 0; p < partCount; p++) {
    const part = makePart(pick(rng, PART_KINDS), rng, scale);
    const spot = placePart(rng, part, placed, size, beltTop, beltBottom);
    if (!spot) continue;
    placed.push({ ...spot, r: part.radius });
    boxes.push(...paintPart(canvas, rng, part, spot.x, spot.y, uniform(rng, 0, Math.PI * 2), scale, defectRate));
  }

  applyLighting(canvas, rng, size);
  if (rng() < 0.35) canvas.motionBlur(randInt(rng, 2, Math.max(3, Math.round(6 * scale))));
  if (rng() < 0.2) canvas.defocus(1);
  const data = canvas.toBytes(rng, uniform(rng, 1.5, 5));
  return { width: size, height: size, data, boxes: boxes.map((b) => ({ classId: b.classId, box: clipBox(b.box, size) })).filter((b) => b.box[2] - b.box[0] >= 2 && b.box[3] - b.box[1] >= 2) };
}

function paintBelt(canvas: Canvas, rng: Rng, top: number, bottom: number, scale: number): void {
  const grey = uniform(rng, 42, 78);
  const tint: Rgb = [grey * uniform(rng, 0.95, 1.05), grey, grey * uniform(rng, 0.95, 1.08)];
  const seamGap = uniform(rng, 90, 150) * scale;
  const seamPhase = uniform(rng, 0, seamGap); // where the belt is in its travel
  const ridge = uniform(rng, 3, 6) * scale;
  // Streaks along the direction of travel: a per-row offset that does not change along x.
  const rowNoise = Float32Array.from({ length: canvas.height }, () => gaussian(rng) * 3);
  const railGrey = uniform(rng, 120, 170);
  canvas.paint(0, 0, canvas.width, canvas.height, (x, y, out) => {
    if (y < top || y > bottom) {
      // Steel side rails: brushed, brighter towards their middle.
      const edge = y < top ? y / top : (canvas.height - y) / (canvas.height - bottom);
      const v = railGrey * (0.75 + 0.35 * Math.sin(Math.PI * Math.min(1, edge))) + rowNoise[Math.floor(y)] * 2;
      out[0] = v; out[1] = v; out[2] = v * 1.03;
      return;
    }
    const seamDist = Math.abs(((x + seamPhase) % seamGap) - seamGap / 2) - seamGap / 2 + 2 * scale;
    const seam = seamDist > 0 ? 0.6 : 1;
    const ribs = 1 + 0.06 * Math.sin((2 * Math.PI * y) / ridge);
    for (let c = 0; c < 3; c++) out[c] = (tint[c] + rowNoise[Math.floor(y)]) * ribs * seam;
  });
}

function placePart(rng: Rng, part: PartGeometry, placed: Array<{ x: number; y: number; r: number }>, size: number, top: number, bottom: number): { x: number; y: number } | undefined {
  for (let tries = 0; tries < 30; tries++) {
    // Parts may run off the left/right edge (the belt moves), never off the belt.
    const x = uniform(rng, part.radius * 0.4, size - part.radius * 0.4);
    const y = uniform(rng, Math.min(top + part.radius * 0.8, size / 2), Math.max(bottom - part.radius * 0.8, size / 2));
    if (placed.every((q) => Math.hypot(q.x - x, q.y - y) > q.r + part.radius + 4)) return { x, y };
  }
  return undefined;
}

/** Draws the part (with shadow, shading, holes and defects); returns its labelled boxes. */
function paintPart(canvas: Canvas, rng: Rng, part: PartGeometry, cx: number, cy: number, angle: number, scale: number, defectRate: number): Array<{ classId: number; box: Box }> {
  const cos = Math.cos(angle), sin = Math.sin(angle);
  const toLocal = (x: number, y: number): [number, number] => [(x - cx) * cos + (y - cy) * sin, -(x - cx) * sin + (y - cy) * cos];
  const toWorld = (lx: number, ly: number): [number, number] => [cx + lx * cos - ly * sin, cy + lx * sin + ly * cos];
  const R = part.radius + 2;
  const bounds: [number, number, number, number] = [cx - R, cy - R, cx + R, cy + R];

  const holes = [...part.holes];
  const boxes: Array<{ classId: number; box: Box }> = [];
  const defective = rng() < defectRate;
  const defectKinds: number[] = [];
  if (defective) {
    defectKinds.push(pick(rng, [SCRATCH, DENT, DISCOLOURATION, MISSING_HOLE]));
    if (rng() < 0.3) defectKinds.push(pick(rng, [SCRATCH, DENT, DISCOLOURATION]));
  }
  if (defectKinds.includes(MISSING_HOLE) && holes.length >= 2) {
    const k = randInt(rng, 0, holes.length - 1);
    const [gone] = holes.splice(k, 1);
    // The box covers where the hole should have been, with a margin so it is not a 10-pixel dot.
    boxes.push({ classId: MISSING_HOLE, box: circleBox(toWorld(gone.x, gone.y), gone.r * 1.8) });
  }
  const solid: Sdf = (x, y) => {
    const [lx, ly] = toLocal(x, y);
    let d = part.outline(lx, ly);
    for (const h of holes) d = Math.max(d, h.r - Math.hypot(lx - h.x, ly - h.y));
    return d;
  };

  // Shadow first, offset away from the light, then the part.
  const sx = 3 * scale, sy = 4 * scale;
  canvas.darken((x, y) => solid(x - sx, y - sy), [bounds[0] + sx - 4, bounds[1] + sy - 4, bounds[2] + sx + 4, bounds[3] + sy + 4], 0.55, 3 * scale);
  const base = partColour(rng);
  const lightAngle = uniform(rng, 0, Math.PI * 2);
  const lx0 = Math.cos(lightAngle), ly0 = Math.sin(lightAngle);
  const brushed = rng() < 0.6;
  const brushFreq = uniform(rng, 0.7, 1.6);
  canvas.fill(solid, bounds, (x, y, d, out) => {
    const [lx, ly] = toLocal(x, y);
    const grad = 0.88 + 0.22 * ((lx * lx0 + ly * ly0) / part.radius);
    const brush = brushed ? 6 * Math.sin(ly * brushFreq + Math.sin(lx * 0.05) * 3) : 0;
    const bevel = d > -2.5 * scale ? (ly < 0 ? 28 : -30) : 0;
    for (let c = 0; c < 3; c++) out[c] = base[c] * grad + brush + bevel;
  });
  const partBox = sdfBox(solid, bounds);
  if (!partBox) return boxes;
  boxes.unshift({ classId: PART, box: partBox });

  for (const kind of defectKinds) {
    if (kind === MISSING_HOLE) continue;
    const box = paintDefect(canvas, rng, kind, part, toLocal, toWorld, base, scale);
    if (box) boxes.push({ classId: kind, box: intersect(box, partBox) });
  }
  return boxes;
}

type Frame = (x: number, y: number) => [number, number];

function paintDefect(canvas: Canvas, rng: Rng, kind: number, part: PartGeometry, toLocal: Frame, toWorld: Frame, base: Rgb, scale: number): Box | undefined {
  const at = pointInside(part, rng, 9 * scale);
  if (!at) return undefined;
  const [ux, uy] = at;
  if (kind === SCRATCH) {
    const len = uniform(rng, 18, 34) * scale;
    const dir = uniform(rng, 0, Math.PI);
    const ax = ux - (Math.cos(dir) * len) / 2, ay = uy - (Math.sin(dir) * len) / 2;
    const bx = ux + (Math.cos(dir) * len) / 2, by = uy + (Math.sin(dir) * len) / 2;
    const half = uniform(rng, 0.8, 1.4) * scale;
    const bright = rng() < 0.5;
    const colour: Rgb = bright ? [235, 235, 238] : [base[0] * 0.3, base[1] * 0.3, base[2] * 0.3];
    const [wa, wb] = [toWorld(ax, ay), toWorld(bx, by)];
    canvas.fill((x, y) => {
      const [lx, ly] = toLocal(x, y);
      return sdSegment(lx, ly, ax, ay, bx, by) - half;
    }, [Math.min(wa[0], wb[0]) - 3, Math.min(wa[1], wb[1]) - 3, Math.max(wa[0], wb[0]) + 3, Math.max(wa[1], wb[1]) + 3], (_x, _y, _d, out) => {
      out[0] = colour[0]; out[1] = colour[1]; out[2] = colour[2];
    }, 0.95);
    const pad = half + 2 * scale;
    return [Math.min(wa[0], wb[0]) - pad, Math.min(wa[1], wb[1]) - pad, Math.max(wa[0], wb[0]) + pad, Math.max(wa[1], wb[1]) + pad];
  }
  const [wx, wy] = toWorld(ux, uy);
  if (kind === DENT) {
    const r = uniform(rng, 7, 12) * scale;
    const shadeAngle = uniform(rng, 0, Math.PI * 2);
    canvas.fill((x, y) => Math.hypot(x - wx, y - wy) - r, [wx - r - 1, wy - r - 1, wx + r + 1, wy + r + 1], (x, y, _d, out) => {
      // A crater: dark on the side facing the light, a bright rim opposite, darker centre.
      const dx = (x - wx) / r, dy = (y - wy) / r;
      const side = dx * Math.cos(shadeAngle) + dy * Math.sin(shadeAngle);
      const depth = 1 - Math.min(1, dx * dx + dy * dy);
      const f = 0.55 + 0.5 * side * (1 - depth) - 0.15 * depth;
      for (let c = 0; c < 3; c++) out[c] = base[c] * f + 20 * Math.max(0, side);
    }, 0.9);
    return circleBox([wx, wy], r + 1);
  }
  // Discolouration: rust or a bluish heat tint in a wobbly blob.
  const R = uniform(rng, 9, 15) * scale;
  const a1 = uniform(rng, 0, 6.3), a2 = uniform(rng, 0, 6.3);
  const radiusAt = (phi: number): number => R * (1 + 0.18 * Math.sin(3 * phi + a1) + 0.1 * Math.sin(5 * phi + a2));
  const tint: Rgb = rng() < 0.5 ? [150, 72, 30] : [92, 62, 150];
  const opacity = uniform(rng, 0.65, 0.85);
  canvas.fill((x, y) => Math.hypot(x - wx, y - wy) - radiusAt(Math.atan2(y - wy, x - wx)), [wx - R * 1.3 - 1, wy - R * 1.3 - 1, wx + R * 1.3 + 1, wy + R * 1.3 + 1], (_x, _y, d, out) => {
    const fade = Math.min(1, -d / (3 * scale) + 0.4);
    for (let c = 0; c < 3; c++) out[c] = tint[c] * fade + base[c] * (1 - fade) * 0.7;
  }, opacity);
  let x0 = Infinity, y0 = Infinity, x1 = -Infinity, y1 = -Infinity;
  for (let k = 0; k < 72; k++) {
    const phi = (k / 72) * Math.PI * 2;
    const r = radiusAt(phi);
    x0 = Math.min(x0, wx + r * Math.cos(phi)); x1 = Math.max(x1, wx + r * Math.cos(phi));
    y0 = Math.min(y0, wy + r * Math.sin(phi)); y1 = Math.max(y1, wy + r * Math.sin(phi));
  }
  return [x0, y0, x1, y1];
}

function applyLighting(canvas: Canvas, rng: Rng, size: number): void {
  const gain = uniform(rng, 0.6, 1.3);
  const spotX = uniform(rng, 0, size), spotY = uniform(rng, 0, size);
  const spot = uniform(rng, 0, 0.6);
  const spread = uniform(rng, 0.3, 0.8) * size;
  const warm = uniform(rng, -0.08, 0.08); // colour temperature of the lamp
  canvas.light((x, y, out) => {
    const g = gain * (1 + spot * Math.exp(-((x - spotX) ** 2 + (y - spotY) ** 2) / (2 * spread * spread)));
    out[0] = g * (1 + warm);
    out[1] = g;
    out[2] = g * (1 - warm);
  });
}

/** Tight box of the pixels an SDF covers (half coverage), scanning its bounds. */
function sdfBox(sdf: Sdf, [bx0, by0, bx1, by1]: [number, number, number, number]): Box | undefined {
  let x0 = Infinity, y0 = Infinity, x1 = -Infinity, y1 = -Infinity;
  for (let y = Math.floor(by0); y < Math.ceil(by1); y++) {
    for (let x = Math.floor(bx0); x < Math.ceil(bx1); x++) {
      if (sdf(x + 0.5, y + 0.5) < 0) {
        if (x < x0) x0 = x;
        if (x + 1 > x1) x1 = x + 1;
        if (y < y0) y0 = y;
        if (y + 1 > y1) y1 = y + 1;
      }
    }
  }
  return Number.isFinite(x0) ? [x0, y0, x1, y1] : undefined;
}

function circleBox([x, y]: [number, number], r: number): Box {
  return [x - r, y - r, x + r, y + r];
}

function intersect(a: Box, b: Box): Box {
  return [Math.max(a[0], b[0]), Math.max(a[1], b[1]), Math.min(a[2], b[2]), Math.min(a[3], b[3])];
}

function clipBox(b: Box, size: number): Box {
  return [Math.max(0, b[0]), Math.max(0, b[1]), Math.min(size, b[2]), Math.min(size, b[3])];
}

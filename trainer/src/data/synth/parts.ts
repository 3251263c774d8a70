// The parts that ride the synthetic belt and the defects they can carry. Everything is defined
// in the part's own frame (centre at 0,0, unrotated) so defects turn and move with their part.
import type { Rng } from '../rng.js';
import { pick, uniform, randInt } from '../rng.js';
import { sdCircle, sdHexagon, sdRoundBox, type Sdf } from './canvas.js';

export const PART_KINDS = ['plate', 'washer', 'nut', 'bracket'] as const;
export type PartKind = (typeof PART_KINDS)[number];

export interface Hole {
  x: number;
  y: number;
  r: number;
}

export interface PartGeometry {
  kind: PartKind;
  /** Outline without holes, local frame. */
  outline: Sdf;
  holes: Hole[];
  /** Radius of a circle around the part (placement and bounds). */
  radius: number;
}

/** A part's outline and holes, sized by `scale` (1 = a 320-pixel frame). */
export function makePart(kind: PartKind, rng: Rng, scale: number): PartGeometry {
  switch (kind) {
    case 'plate': {
      const hw = uniform(rng, 32, 48) * scale;
      const hh = uniform(rng, 24, 36) * scale;
      const r = 6 * scale;
      const hr = uniform(rng, 4.5, 6) * scale;
      const ix = hw - 11 * scale, iy = hh - 11 * scale;
      return { kind, outline: (x, y) => sdRoundBox(x, y, hw, hh, r), holes: [[-1, -1], [1, -1], [-1, 1], [1, 1]].map(([sx, sy]) => ({ x: sx * ix, y: sy * iy, r: hr })), radius: Math.hypot(hw, hh) };
    }
    case 'washer': {
      const R = uniform(rng, 26, 40) * scale;
      return { kind, outline: (x, y) => sdCircle(x, y, R), holes: [{ x: 0, y: 0, r: R * uniform(rng, 0.3, 0.4) }], radius: R };
    }
    case 'nut': {
      const R = uniform(rng, 26, 36) * scale;
      return { kind, outline: (x, y) => sdHexagon(x, y, R), holes: [{ x: 0, y: 0, r: R * 0.45 }], radius: R * 1.16 };
    }
    case 'bracket': {
      const a = uniform(rng, 40, 52) * scale; // arm length
      const t = uniform(rng, 15, 19) * scale; // arm thickness
      const r = 4 * scale;
      const hr = uniform(rng, 4.5, 5.5) * scale;
      // An L: a horizontal arm along the top, a vertical arm down the left side.
      const outline: Sdf = (x, y) => Math.min(sdRoundBox(x, y + a / 2 - t / 2, a / 2, t / 2, r), sdRoundBox(x + a / 2 - t / 2, y, t / 2, a / 2, r));
      return { kind, outline, holes: [{ x: a / 2 - t * 0.8, y: -a / 2 + t / 2, r: hr }, { x: -a / 2 + t / 2, y: a / 2 - t * 0.8, r: hr }], radius: a * 0.75 };
    }
  }
}

export const METAL_COLOURS: Array<[number, number, number]> = [[175, 178, 182], [150, 152, 150], [196, 190, 172], [130, 136, 146]];
export const PAINT_COLOURS: Array<[number, number, number]> = [[48, 92, 170], [60, 140, 84], [214, 122, 40], [210, 182, 54]];

export function partColour(rng: Rng): [number, number, number] {
  return rng() < 0.6 ? pick(rng, METAL_COLOURS) : pick(rng, PAINT_COLOURS);
}

/** A point well inside the part (not in or near a hole), or undefined after a few tries. */
export function pointInside(part: PartGeometry, rng: Rng, margin: number): [number, number] | undefined {
  for (let tries = 0; tries < 40; tries++) {
    const x = uniform(rng, -part.radius, part.radius);
    const y = uniform(rng, -part.radius, part.radius);
    if (part.outline(x, y) > -margin) continue;
    if (part.holes.some((h) => Math.hypot(x - h.x, y - h.y) < h.r + margin)) continue;
    return [x, y];
  }
  return undefined;
}

export { randInt };

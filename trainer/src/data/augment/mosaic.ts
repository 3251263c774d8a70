// Mosaic: four images share one frame around a random centre, each shrunk into its quadrant.
// Objects appear at new scales and next to new neighbours, and every batch holds more of them.
import { DEFAULT_PAD_VALUE } from '@kestrel/core/model/metadata';
import type { Rng } from '../rng.js';
import { uniform } from '../rng.js';
import type { Sample } from '../types.js';
import { resampleInto, transformBoxes, type AxisTransform, type Rect, type ClipRules, DEFAULT_CLIP } from './geometry.js';

export interface MosaicOptions {
  /** Each tile's longest side as a share of the frame, drawn from this range. */
  tileScale: [number, number];
  pad: number;
  clip: ClipRules;
}

export const DEFAULT_MOSAIC: MosaicOptions = { tileScale: [0.45, 0.75], pad: DEFAULT_PAD_VALUE, clip: DEFAULT_CLIP };

/** Four samples → one size×size sample. Tile k's corner nearest the centre sits on the centre. */
export function mosaic(tiles: readonly [Sample, Sample, Sample, Sample], size: number, rng: Rng, o: MosaicOptions = DEFAULT_MOSAIC): Sample {
  const cx = Math.round(uniform(rng, 0.3, 0.7) * size);
  const cy = Math.round(uniform(rng, 0.3, 0.7) * size);
  const data = new Uint8Array(size * size * 3);
  const boxes: Sample['boxes'] = [];
  const quadrants: Rect[] = [
    { x0: 0, y0: 0, x1: cx, y1: cy },
    { x0: cx, y0: 0, x1: size, y1: cy },
    { x0: 0, y0: cy, x1: cx, y1: size },
    { x0: cx, y0: cy, x1: size, y1: size },
  ];
  tiles.forEach((tile, k) => {
    const rect = quadrants[k];
    if (rect.x1 <= rect.x0 || rect.y1 <= rect.y0) return;
    const s = (uniform(rng, o.tileScale[0], o.tileScale[1]) * size) / Math.max(tile.width, tile.height);
    const w = tile.width * s;
    const h = tile.height * s;
    const right = k === 0 || k === 2; // tiles left of the centre end at cx
    const below = k === 2 || k === 3;
    const t: AxisTransform = { sx: s, sy: s, tx: right ? cx - w : cx, ty: below ? cy : cy - h };
    resampleInto(data, size, rect, tile, t, o.pad);
    boxes.push(...transformBoxes(tile.boxes, t, rect, o.clip));
  });
  return { width: size, height: size, data, boxes };
}

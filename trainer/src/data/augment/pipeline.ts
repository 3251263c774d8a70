// The training-time augmentation pipeline: mosaic or a random scale/translate, flips, colour
// jitter. Every random choice comes from the rng passed in, so a seed replays a whole epoch.
import { DEFAULT_PAD_VALUE } from '@kestrel/core/model/metadata';
import type { Rng } from '../rng.js';
import { uniform } from '../rng.js';
import type { Sample } from '../types.js';
import { DEFAULT_COLOUR_JITTER, jitterColour, type ColourJitter } from './colour.js';
import { flipHorizontal, flipVertical, letterboxTransform, transformBoxes, warpSample, DEFAULT_CLIP, type AxisTransform, type ClipRules } from './geometry.js';
import { mosaic, DEFAULT_MOSAIC } from './mosaic.js';
import { chooseCropWindow, cropSample, type CropOptions } from './crop.js';

export interface AugmentOptions {
  /** Probability of a mosaic of four images. */
  mosaic: number;
  /** Random zoom: scale drawn from 1 ± scale (after letterboxing). */
  scale: number;
  /** Random shift as a share of the size, ± this. */
  translate: number;
  flipLR: number;
  flipUD: number;
  /** Probability of colour jitter, and its strength. */
  colour: number;
  jitter: ColourJitter;
  pad: number;
  clip: ClipRules;
}

export const DEFAULT_AUGMENT: AugmentOptions = {
  mosaic: 0.5,
  scale: 0.35,
  translate: 0.1,
  flipLR: 0.5,
  flipUD: 0,
  colour: 0.8,
  jitter: DEFAULT_COLOUR_JITTER,
  pad: DEFAULT_PAD_VALUE,
  clip: DEFAULT_CLIP,
};

/** No augmentation at all: just the letterbox (validation and evaluation). */
export const NO_AUGMENT: AugmentOptions = { ...DEFAULT_AUGMENT, mosaic: 0, scale: 0, translate: 0, flipLR: 0, flipUD: 0, colour: 0 };

/**
 * One training sample of size×size, or of crop.size when `crop` is given: a window of the
 * size×size frame. `others` supplies three more samples when a mosaic is drawn.
 */
export function augmentSample(sample: Sample, size: number, rng: Rng, o: AugmentOptions, others?: () => [Sample, Sample, Sample], crop?: CropOptions): Sample {
  const cropping = crop !== undefined && crop.size < size;
  let out: Sample;
  if (o.mosaic > 0 && others && rng() < o.mosaic) {
    out = mosaic([sample, ...others()], size, rng, { ...DEFAULT_MOSAIC, pad: o.pad, clip: o.clip });
    if (o.flipLR > 0 && rng() < o.flipLR) out = flipHorizontal(out);
    if (cropping) out = cropSample(out, crop, rng, o.clip);
  } else {
    // Scale, shift and the left-right flip are one axis transform; with a crop, only the window
    // is resampled (a quarter of the pixels for half-size crops), not the whole frame.
    const base = letterboxTransform(sample.width, sample.height, size);
    const zoom = o.scale > 0 ? uniform(rng, 1 - o.scale, 1 + o.scale) : 1;
    const s = base.sx * zoom;
    const w = sample.width * s;
    const h = sample.height * s;
    const shift = o.translate * size;
    let tx = (size - w) / 2 + (shift > 0 ? uniform(rng, -shift, shift) : 0);
    let ty = (size - h) / 2 + (shift > 0 ? uniform(rng, -shift, shift) : 0);
    // At scale 1 (no zoom, the frame already the training size) whole-pixel shifts keep every
    // pixel exact: a fractional shift would blur one- and two-pixel details (scratches) that the
    // camera delivers sharp.
    if (s === 1) [tx, ty] = [Math.round(tx), Math.round(ty)];
    let t: AxisTransform = { sx: s, sy: s, tx, ty };
    if (o.flipLR > 0 && rng() < o.flipLR) t = { ...t, sx: -s, tx: size - tx };
    if (cropping) {
      const frameBoxes = transformBoxes(sample.boxes, t, { x0: 0, y0: 0, x1: size, y1: size }, o.clip);
      const { x0, y0 } = chooseCropWindow(frameBoxes, size, size, crop, rng);
      out = warpSample(sample, crop.size, { ...t, tx: t.tx - x0, ty: t.ty - y0 }, o.pad, o.clip);
    } else {
      out = warpSample(sample, size, t, o.pad, o.clip);
    }
  }
  if (o.flipUD > 0 && rng() < o.flipUD) out = flipVertical(out);
  if (o.colour > 0 && rng() < o.colour) jitterColour(out.data, rng, o.jitter);
  return out;
}

// Training on crops: a window of the (augmented) frame, usually centred near a random object.
// Objects keep their full-frame scale while each sample costs a fraction of the pixels, so a
// small-object task (defects on parts) gets several times more object views per second of
// training. The network is fully convolutional, so it still runs on whole frames afterwards.
import type { Rng } from '../rng.js';
import { uniform } from '../rng.js';
import type { Sample } from '../types.js';
import { transformBoxes, DEFAULT_CLIP, type ClipRules } from './geometry.js';

export interface CropOptions {
  size: number;
  /** Probability that the window is placed near an object rather than anywhere. */
  objectBias: number;
  /** Windows favour objects of rare classes, the way repeat-factor sampling favours their images. */
  classWeights?: readonly number[];
}

/** Top-left corner of a size×size window inside a width×height frame. */
export function chooseCropWindow(boxes: Sample['boxes'], width: number, height: number, o: CropOptions, rng: Rng): { x0: number; y0: number } {
  const { size } = o;
  let cx: number, cy: number;
  if (boxes.length > 0 && rng() < o.objectBias) {
    const b = boxes[pickWeighted(boxes.map((l) => o.classWeights?.[l.classId] ?? 1), rng)].box;
    // Near the object's centre, not on it: the object should appear anywhere in the window.
    cx = (b[0] + b[2]) / 2 + uniform(rng, -0.35, 0.35) * size;
    cy = (b[1] + b[3]) / 2 + uniform(rng, -0.35, 0.35) * size;
  } else {
    cx = uniform(rng, 0, width);
    cy = uniform(rng, 0, height);
  }
  return {
    x0: Math.round(Math.min(Math.max(0, cx - size / 2), width - size)),
    y0: Math.round(Math.min(Math.max(0, cy - size / 2), height - size)),
  };
}

/** Cuts a window out of an already rendered frame (the mosaic path; plain frames crop while warping). */
export function cropSample(s: Sample, crop: CropOptions, rng: Rng, clip: ClipRules = DEFAULT_CLIP): Sample {
  const { size } = crop;
  if (size >= s.width && size >= s.height) return s;
  const { x0, y0 } = chooseCropWindow(s.boxes, s.width, s.height, crop, rng);
  const data = new Uint8Array(size * size * 3);
  for (let y = 0; y < size; y++) data.set(s.data.subarray(((y0 + y) * s.width + x0) * 3, ((y0 + y) * s.width + x0 + size) * 3), y * size * 3);
  const boxes = transformBoxes(s.boxes, { sx: 1, sy: 1, tx: -x0, ty: -y0 }, { x0: 0, y0: 0, x1: size, y1: size }, clip);
  return { width: size, height: size, data, boxes };
}

function pickWeighted(weights: number[], rng: Rng): number {
  const total = weights.reduce((a, b) => a + b, 0);
  let r = rng() * total;
  for (let i = 0; i < weights.length; i++) {
    r -= weights[i];
    if (r < 0) return i;
  }
  return weights.length - 1;
}

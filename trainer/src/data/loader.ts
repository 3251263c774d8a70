// Feeding the trainer: decoded images held in memory (resized once so the longest side is the
// training size), augmented batches for training, and letterboxed batches for validation that
// go through exactly the agent's preprocessing (core's letterbox), with ground truth in source
// pixels.
import sharp from 'sharp';
import { letterboxImage } from '@kestrel/core/image/preprocess';
import type { LetterboxGeometry } from '@kestrel/core/image/letterbox';
import type { InputSpec } from '@kestrel/core/model/metadata';
import { KestrelError } from '@kestrel/core/util/errors';
import type { DatasetItem, Sample } from './types.js';
import { augmentSample, type AugmentOptions } from './augment/pipeline.js';
import { cropSample } from './augment/crop.js';
import { createRng, deriveSeed, shuffle, type Rng } from './rng.js';

/**
 * Decoded, downsized samples, kept for the whole run (a 320-pixel RGB image is 300 KB) up to a
 * memory budget; past it, further images are decoded again each time they are drawn.
 */
export class SampleCache {
  private readonly samples = new Map<string, Promise<Sample>>();
  private bytes = 0;

  constructor(
    private readonly maxSide: number,
    private readonly maxBytes = 2 * 1024 ** 3,
  ) {}

  get(item: DatasetItem): Promise<Sample> {
    const cached = this.samples.get(item.id);
    if (cached) return cached;
    const s = this.load(item);
    const estimate = this.maxSide * this.maxSide * 3;
    if (this.bytes + estimate <= this.maxBytes) {
      this.samples.set(item.id, s);
      this.bytes += estimate;
    }
    return s;
  }

  private async load(item: DatasetItem): Promise<Sample> {
    try {
      const { data, info } = await sharp(item.imagePath)
        .rotate()
        .removeAlpha()
        .toColourspace('srgb')
        .resize(this.maxSide, this.maxSide, { fit: 'inside', withoutEnlargement: true, kernel: 'linear' })
        .raw()
        .toBuffer({ resolveWithObject: true });
      // Labels are normalised, so boxes land in the downsized image's pixels directly.
      return {
        width: info.width,
        height: info.height,
        data: new Uint8Array(data.buffer, data.byteOffset, data.length),
        boxes: item.boxes.map((l) => ({ ...l, box: [l.box[0] * info.width, l.box[1] * info.height, l.box[2] * info.width, l.box[3] * info.height] })),
      };
    } catch (err) {
      throw new KestrelError('E_IMAGE_DECODE', `cannot read training image ${item.imagePath}: ${(err as Error).message}`);
    }
  }
}

export interface TrainBatch {
  /** [B, size, size, 3] RGB scaled to 0..1. */
  images: Float32Array;
  size: number;
  count: number;
  boxes: Sample['boxes'][];
}

export interface TrainBatchOptions {
  /** Frame size: images are augmented at this size. */
  size: number;
  /** Train on crops of this size (default: the whole frame). */
  crop?: number;
  /** Crops centre on objects of a class with probability ∝ its weight (rare classes more often). */
  cropClassWeights?: readonly number[];
  batch: number;
  augment: AugmentOptions;
  seed: number;
}

/** Augmented training batches; epoch e of seed s is always the same sequence. */
export class TrainBatches {
  constructor(
    private readonly items: readonly DatasetItem[],
    private readonly cache: SampleCache,
    private readonly o: TrainBatchOptions,
  ) {
    if (items.length === 0) throw new KestrelError('E_DATASET_EMPTY', 'the training split has no images');
  }

  /** Batches per epoch (the last partial batch is dropped, as long as one full batch exists). */
  get steps(): number {
    return Math.max(1, Math.floor(this.items.length / this.o.batch));
  }

  async *epoch(epoch: number, augment: AugmentOptions = this.o.augment): AsyncGenerator<TrainBatch> {
    const rng = createRng(deriveSeed(this.o.seed, 'epoch', epoch));
    const order = shuffle(rng, this.items.map((_, i) => i));
    const batch = Math.min(this.o.batch, this.items.length);
    for (let s = 0; s < this.steps; s++) {
      const picks = Array.from({ length: batch }, (_, k) => order[(s * batch + k) % order.length]);
      yield this.makeBatch(picks, rng, augment);
    }
  }

  private async makeBatch(picks: number[], rng: Rng, augment: AugmentOptions): Promise<TrainBatch> {
    const size = this.o.crop ?? this.o.size;
    const images = new Float32Array(picks.length * size * size * 3);
    const boxes: Sample['boxes'][] = [];
    for (let k = 0; k < picks.length; k++) {
      const sample = await this.cache.get(this.items[picks[k]]);
      // Mosaic partners are drawn before augmenting, so the rng sequence does not depend on timing.
      const partners = await Promise.all([0, 1, 2].map(() => this.cache.get(this.items[Math.floor(rng() * this.items.length)])));
      const frame = augmentSample(sample, this.o.size, rng, augment, () => partners as [Sample, Sample, Sample]);
      const out = this.o.crop !== undefined && this.o.crop < this.o.size ? cropSample(frame, this.o.crop, rng, 0.8, this.o.cropClassWeights) : frame;
      const base = k * size * size * 3;
      for (let i = 0; i < out.data.length; i++) images[base + i] = out.data[i] / 255;
      boxes.push(out.boxes);
    }
    return { images, size, count: picks.length, boxes };
  }
}

export interface EvalImage {
  item: DatasetItem;
  geometry: LetterboxGeometry;
  /** Ground truth in source pixels. */
  truth: Sample['boxes'];
}

export interface EvalBatch {
  /** [B, H, W, 3] RGB 0..1, letterboxed as the agent does it. */
  images: Float32Array;
  entries: EvalImage[];
}

/** Validation/test batches through core's letterbox (identical to the agent's preprocessing). */
export async function* evalBatches(items: readonly DatasetItem[], spec: InputSpec, batch: number): AsyncGenerator<EvalBatch> {
  for (let i = 0; i < items.length; i += batch) {
    const chunk = items.slice(i, i + batch);
    const images = new Float32Array(chunk.length * spec.width * spec.height * 3);
    const entries: EvalImage[] = [];
    for (let k = 0; k < chunk.length; k++) {
      const { rgb, geometry } = await letterboxImage(chunk[k].imagePath, spec);
      const base = k * rgb.length;
      for (let p = 0; p < rgb.length; p++) images[base + p] = rgb[p] / 255;
      const { srcWidth: w, srcHeight: h } = geometry;
      entries.push({ item: chunk[k], geometry, truth: chunk[k].boxes.map(({ classId, box }) => ({ classId, box: [box[0] * w, box[1] * h, box[2] * w, box[3] * h] })) });
    }
    yield { images, entries };
  }
}

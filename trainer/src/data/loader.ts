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
import type { CropOptions } from './augment/crop.js';
import { createRng, deriveSeed, shuffle } from './rng.js';

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

/** Which samples of a step's batch to make: [from, to). Data-parallel replicas each make their share. */
export interface BatchShare {
  from: number;
  to: number;
}

/**
 * Augmented training batches; epoch e of seed s is always the same sequence. Each sample draws
 * from its own seeded generator, so any thread can make any share of a batch and get the same
 * pixels the others would have made.
 */
export class TrainBatches {
  private order?: { epoch: number; indices: number[] };
  /** Side of the images a batch holds: the crop size when cropping, else the frame size. */
  private readonly side: number;
  private readonly crop?: CropOptions;

  constructor(
    private readonly items: readonly DatasetItem[],
    private readonly cache: SampleCache,
    private readonly o: TrainBatchOptions,
  ) {
    if (items.length === 0) throw new KestrelError('E_DATASET_EMPTY', 'the training split has no images');
    if (o.crop !== undefined && o.crop < o.size) this.crop = { size: o.crop, objectBias: 0.8, classWeights: o.cropClassWeights };
    this.side = this.crop?.size ?? o.size;
  }

  /** Batches per epoch (the last partial batch is dropped, as long as one full batch exists). */
  get steps(): number {
    return Math.max(1, Math.floor(this.items.length / this.o.batch));
  }

  /** Images per batch. */
  get batchSize(): number {
    return Math.min(this.o.batch, this.items.length);
  }

  async *epoch(epoch: number, augment: AugmentOptions = this.o.augment): AsyncGenerator<TrainBatch> {
    for (let s = 0; s < this.steps; s++) yield this.batch(epoch, s, augment);
  }

  /** Step `step` of `epoch`, whole or only `share` of it. */
  async batch(epoch: number, step: number, augment: AugmentOptions = this.o.augment, share: BatchShare = { from: 0, to: this.batchSize }): Promise<TrainBatch> {
    const order = this.epochOrder(epoch);
    const size = this.side;
    const count = share.to - share.from;
    const images = new Float32Array(count * size * size * 3);
    const boxes: Sample['boxes'][] = [];
    for (let k = 0; k < count; k++) {
      const position = step * this.batchSize + share.from + k;
      const rng = createRng(deriveSeed(this.o.seed, 'sample', epoch, position));
      const sample = await this.cache.get(this.items[order[position % order.length]]);
      // Mosaic partners are drawn before augmenting, so the rng sequence does not depend on timing.
      const partners = await Promise.all([0, 1, 2].map(() => this.cache.get(this.items[Math.floor(rng() * this.items.length)])));
      const out = augmentSample(sample, this.o.size, rng, augment, () => partners as [Sample, Sample, Sample], this.crop);
      const base = k * size * size * 3;
      const data = out.data;
      for (let i = 0; i < data.length; i++) images[base + i] = data[i] / 255;
      boxes.push(out.boxes);
    }
    return { images, size, count, boxes };
  }

  private epochOrder(epoch: number): number[] {
    if (this.order?.epoch !== epoch) {
      const rng = createRng(deriveSeed(this.o.seed, 'epoch', epoch));
      this.order = { epoch, indices: shuffle(rng, this.items.map((_, i) => i)) };
    }
    return this.order.indices;
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

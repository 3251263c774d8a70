// `kestrel dataset show`: a grid of augmented training samples with their boxes, to see what the
// model will see (and catch a wrong label format or a broken augmentation at a glance).
import { writeFileSync } from 'node:fs';
import type { Dataset, SplitName } from './types.js';
import { splitItems } from './dataset.js';
import { effectiveSplits } from './split.js';
import { SampleCache, TrainBatches } from './loader.js';
import { DEFAULT_AUGMENT, NO_AUGMENT, type AugmentOptions } from './augment/pipeline.js';
import { classColour, gridPng, type RgbImage } from './image.js';

export interface ShowOptions {
  output: string;
  count?: number;
  imgsz?: number;
  seed?: number;
  split?: SplitName;
  augment?: boolean | Partial<AugmentOptions>;
}

export async function showAugmented(ds: Dataset, o: ShowOptions): Promise<{ output: string; samples: number; boxes: number }> {
  const count = o.count ?? 16;
  const size = o.imgsz ?? 320;
  const items = splitItems({ ...ds, splits: effectiveSplits(ds, o.seed ?? 0) }, o.split ?? 'train');
  const augment = o.augment === false ? NO_AUGMENT : { ...DEFAULT_AUGMENT, ...(typeof o.augment === 'object' ? o.augment : {}) };
  const batches = new TrainBatches(items.length > 0 ? items : ds.items, new SampleCache(size), { size, batch: Math.min(count, Math.max(1, items.length || ds.items.length)), augment, seed: o.seed ?? 0 });
  const tiles: Array<{ image: RgbImage; boxes: Array<{ box: [number, number, number, number]; label: string; colour: string }> }> = [];
  for (let epoch = 0; tiles.length < count; epoch++) {
    for await (const b of batches.epoch(epoch)) {
      for (let k = 0; k < b.count && tiles.length < count; k++) {
        const px = b.images.subarray(k * size * size * 3, (k + 1) * size * size * 3);
        const data = Uint8Array.from(px, (v) => Math.round(v * 255));
        tiles.push({ image: { width: size, height: size, data }, boxes: b.boxes[k].map(({ classId, box }) => ({ box, label: ds.classes[classId], colour: classColour(classId) })) });
      }
      if (tiles.length >= count) break;
    }
  }
  writeFileSync(o.output, await gridPng(tiles, Math.ceil(Math.sqrt(tiles.length))));
  return { output: o.output, samples: tiles.length, boxes: tiles.reduce((n, t) => n + t.boxes.length, 0) };
}

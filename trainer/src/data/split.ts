// Train/val/test splits, reproducible by seed: the same ids, ratios and seed always give the
// same split, whatever order the files were listed in.
import { KestrelError } from '@kestrel/core/util/errors';
import { createRng, shuffle } from './rng.js';
import { emptySplits } from './dataset.js';
import type { Dataset, SplitName } from './types.js';

export interface SplitOptions {
  /** Fractions for train, val and test; normalised, so [8, 1, 1] works too. */
  ratios?: [number, number, number];
  seed?: number;
}

export const DEFAULT_SPLIT_RATIOS: [number, number, number] = [0.8, 0.1, 0.1];

export function splitIds(ids: readonly string[], options: SplitOptions = {}): Record<SplitName, string[]> {
  const ratios = options.ratios ?? DEFAULT_SPLIT_RATIOS;
  if (ratios.length !== 3 || ratios.some((r) => !(r >= 0)) || ratios[0] <= 0) {
    throw new KestrelError('E_SPLIT', `split ratios must be three non-negative numbers with train > 0, got ${ratios.join(',')}`);
  }
  const total = ratios[0] + ratios[1] + ratios[2];
  const order = shuffle(createRng(options.seed ?? 0), [...ids].sort());
  const n = order.length;
  // Each split with a positive ratio gets at least one image when there are enough to go round.
  let nVal = Math.round((n * ratios[1]) / total);
  let nTest = Math.round((n * ratios[2]) / total);
  if (ratios[1] > 0 && nVal === 0 && n >= 3) nVal = 1;
  if (ratios[2] > 0 && nTest === 0 && n >= 3) nTest = 1;
  const splits = emptySplits();
  splits.val = order.slice(0, nVal);
  splits.test = order.slice(nVal, nVal + nTest);
  splits.train = order.slice(nVal + nTest);
  for (const s of Object.values(splits)) s.sort();
  return splits;
}

export function splitDataset(ds: Dataset, options: SplitOptions = {}): Record<SplitName, string[]> {
  return splitIds(ds.items.map((i) => i.id), options);
}

/** The dataset's own splits when it has a train split, else a seeded one (val/test never empty if possible). */
export function effectiveSplits(ds: Dataset, seed = 0): Record<SplitName, string[]> {
  if (ds.splits.train.length > 0) {
    if (ds.splits.val.length > 0) return ds.splits;
    // A train-only dataset: carve val out of train, reproducibly.
    const carved = splitIds(ds.splits.train, { ratios: [0.9, 0.1, 0], seed });
    return { train: carved.train, val: carved.val, test: ds.splits.test };
  }
  return splitDataset(ds, { seed });
}

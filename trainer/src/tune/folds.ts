// k-fold cross-validation splits for `kestrel tune`. The dataset's test split is never touched
// (it stays the honest final check); its train and val images are pooled and dealt into k folds,
// each fold in turn the validation set of one training run.
import { KestrelError } from '@kestrel/core/util/errors';
import { createRng, shuffle } from '../data/rng.js';
import { effectiveSplits } from '../data/split.js';
import type { Dataset, SplitName } from '../data/types.js';

export type Splits = Record<SplitName, string[]>;

export function kFoldSplits(ds: Dataset, folds: number, seed = 0): Splits[] {
  if (!Number.isInteger(folds) || folds < 2) throw new KestrelError('E_USAGE', `--folds must be a whole number ≥ 2, got ${folds}`);
  const base = effectiveSplits(ds, seed);
  const pool = shuffle(createRng(seed), [...base.train, ...base.val].sort());
  if (pool.length < folds * 2) {
    throw new KestrelError('E_USAGE', `--folds ${folds} needs at least ${folds * 2} train+val images (2 per fold), the dataset has ${pool.length}`);
  }
  // Round-robin dealing keeps fold sizes within one image of each other.
  const dealt: string[][] = Array.from({ length: folds }, () => []);
  pool.forEach((id, i) => dealt[i % folds].push(id));
  return dealt.map((val, k) => ({
    train: dealt.filter((_, j) => j !== k).flat().sort(),
    val: [...val].sort(),
    test: [...base.test],
  }));
}

// The hyperparameters `kestrel tune` searches and the ranges it draws them from. A space is a
// small JSON document a user can write (`--space space.json`); every key names one training
// option, every range says how to draw it. Drawing is seeded, so a search can be repeated.
import { KestrelError } from '@kestrel/core/util/errors';
import type { Rng } from '../data/rng.js';
import { isBoxBins, MAX_BOX_BINS } from '../model/config.js';
import type { TrainOptions } from '../train/options.js';

/** How one parameter is drawn: log-uniform (rates), uniform (probabilities, shares) or a choice. */
export type Range = { log: [number, number] } | { uniform: [number, number] } | { choice: number[] };

/** The parameters a search may vary; each maps onto one `kestrel train` option. */
export const TUNABLE = {
  lr: { apply: (o: TrainOptions, v: number) => ({ ...o, lr: v }), valid: (v: number) => v > 0 && v < 1, what: 'in (0, 1)' },
  width: { apply: (o: TrainOptions, v: number) => ({ ...o, width: v }), valid: (v: number) => v > 0 && v <= 4, what: 'in (0, 4]' },
  boxBins: { apply: (o: TrainOptions, v: number) => ({ ...o, boxBins: v }), valid: isBoxBins, what: `0 or a whole number from 2 to ${MAX_BOX_BINS}` },
  batch: { apply: (o: TrainOptions, v: number) => ({ ...o, batch: v }), valid: (v: number) => Number.isInteger(v) && v > 0, what: 'a positive whole number' },
  warmupEpochs: { apply: (o: TrainOptions, v: number) => ({ ...o, warmupEpochs: v }), valid: (v: number) => Number.isInteger(v) && v >= 0, what: 'a whole number ≥ 0' },
  mosaic: { apply: (o: TrainOptions, v: number) => withAugment(o, 'mosaic', v), valid: isShare, what: 'in [0, 1]' },
  scale: { apply: (o: TrainOptions, v: number) => withAugment(o, 'scale', v), valid: (v: number) => v >= 0 && v < 1, what: 'in [0, 1)' },
  fliplr: { apply: (o: TrainOptions, v: number) => withAugment(o, 'flipLR', v), valid: isShare, what: 'in [0, 1]' },
  flipud: { apply: (o: TrainOptions, v: number) => withAugment(o, 'flipUD', v), valid: isShare, what: 'in [0, 1]' },
} as const;

export type TunableName = keyof typeof TUNABLE;
export type SearchSpace = Partial<Record<TunableName, Range>>;
/** One point of the space: the values a trial trains with. */
export type Params = Partial<Record<TunableName, number>>;

/** What Ultralytics' tuner and the YOLO papers vary most profitably at small budgets. */
export const DEFAULT_SPACE: SearchSpace = {
  lr: { log: [3e-4, 1e-2] },
  mosaic: { uniform: [0, 1] },
  scale: { uniform: [0, 0.6] },
  fliplr: { choice: [0, 0.5] },
  boxBins: { choice: [0, 8, 16] },
};

function isShare(v: number): boolean {
  return v >= 0 && v <= 1;
}

function withAugment(o: TrainOptions, key: 'mosaic' | 'scale' | 'flipLR' | 'flipUD', v: number): TrainOptions {
  return { ...o, augment: { ...o.augment, [key]: v } };
}

/** A space from user JSON, every mistake named by its key. */
export function parseSpace(input: unknown, source = 'space'): SearchSpace {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) throw spaceError(`${source} must be an object of parameter: range, got ${JSON.stringify(input)}`);
  const out: SearchSpace = {};
  const entries = Object.entries(input as Record<string, unknown>);
  if (entries.length === 0) throw spaceError(`${source} names no parameter; tunable: ${Object.keys(TUNABLE).join(', ')}`);
  for (const [key, range] of entries) {
    if (!(key in TUNABLE)) throw spaceError(`${source}.${key}: not a tunable parameter; tunable: ${Object.keys(TUNABLE).join(', ')}`);
    out[key as TunableName] = parseRange(key as TunableName, range, `${source}.${key}`);
  }
  return out;
}

function parseRange(name: TunableName, range: unknown, path: string): Range {
  const spec = TUNABLE[name];
  const check = (v: unknown, where: string): number => {
    if (typeof v !== 'number' || !Number.isFinite(v) || !spec.valid(v)) throw spaceError(`${where} must be ${spec.what}, got ${JSON.stringify(v)}`);
    return v;
  };
  if (typeof range !== 'object' || range === null) throw spaceError(`${path} must be {"log": [lo, hi]}, {"uniform": [lo, hi]} or {"choice": [a, b, ...]}, got ${JSON.stringify(range)}`);
  const kinds = Object.keys(range);
  if (kinds.length !== 1 || !['log', 'uniform', 'choice'].includes(kinds[0])) throw spaceError(`${path} must have exactly one of log, uniform, choice, got ${JSON.stringify(range)}`);
  const kind = kinds[0] as 'log' | 'uniform' | 'choice';
  const values = (range as Record<string, unknown>)[kind];
  if (!Array.isArray(values)) throw spaceError(`${path}.${kind} must be an array, got ${JSON.stringify(values)}`);
  const nums = values.map((v, i) => check(v, `${path}.${kind}[${i}]`));
  if (kind === 'choice') {
    if (nums.length === 0) throw spaceError(`${path}.choice needs at least one value`);
    return { choice: nums };
  }
  if (nums.length !== 2 || !(nums[0] <= nums[1])) throw spaceError(`${path}.${kind} must be [lo, hi] with lo ≤ hi, got ${JSON.stringify(values)}`);
  if (kind === 'log' && !(nums[0] > 0)) throw spaceError(`${path}.log needs lo > 0, got ${nums[0]}`);
  return kind === 'log' ? { log: [nums[0], nums[1]] } : { uniform: [nums[0], nums[1]] };
}

/** One point drawn from the space. Integer parameters drawn from a range are rounded. */
export function drawParams(space: SearchSpace, rng: Rng): Params {
  const out: Params = {};
  // Sorted keys: the same seed draws the same trials whatever order the JSON listed them in.
  for (const name of Object.keys(space).sort() as TunableName[]) {
    const range = space[name]!;
    let v: number;
    if ('choice' in range) v = range.choice[Math.floor(rng() * range.choice.length)];
    else if ('log' in range) v = Math.exp(Math.log(range.log[0]) + rng() * (Math.log(range.log[1]) - Math.log(range.log[0])));
    else v = range.uniform[0] + rng() * (range.uniform[1] - range.uniform[0]);
    if ((name === 'batch' || name === 'warmupEpochs') && !('choice' in range)) v = Math.round(v);
    out[name] = 'choice' in range ? v : Number(v.toPrecision(4));
  }
  return out;
}

/**
 * `count` distinct points: a repeated point would spend a whole k-fold budget learning nothing new.
 * A space of choices only has a finite number of points; when `count` exceeds it, every point is
 * returned once (the search becomes a grid).
 */
export function drawDistinct(space: SearchSpace, rng: Rng, count: number): Params[] {
  const out: Params[] = [];
  const seen = new Set<string>();
  const ranges = Object.values(space);
  const finite = ranges.every((r) => r !== undefined && 'choice' in r)
    ? ranges.reduce((n, r) => n * new Set((r as { choice: number[] }).choice).size, 1)
    : Infinity;
  const target = Math.min(count, finite);
  for (let attempts = 0; out.length < target && attempts < target * 200; attempts++) {
    const p = drawParams(space, rng);
    const key = JSON.stringify(p);
    if (seen.has(key)) continue;
    seen.add(key);
    out.push(p);
  }
  return out;
}

/** The training options of a trial: the base options with the trial's values laid over them. */
export function applyParams(base: TrainOptions, params: Params): TrainOptions {
  let o = base;
  for (const [name, v] of Object.entries(params) as Array<[TunableName, number]>) o = TUNABLE[name].apply(o, v);
  return o;
}

function spaceError(message: string): KestrelError {
  return new KestrelError('E_TUNE_SPACE', message);
}

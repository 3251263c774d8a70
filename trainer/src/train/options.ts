// What `kestrel train` takes, with the defaults in one place.
import { KestrelError } from '@kestrel/core/util/errors';
import type { Logger } from '@kestrel/core/util/log';
import type { AugmentOptions } from '../data/augment/pipeline.js';
import type { DetectorConfig } from '../model/config.js';
import type { SplitName } from '../data/types.js';

export interface TrainOptions {
  /** Dataset folder (dataset.json or data.yaml). */
  data: string;
  /** Image ids per split, instead of the dataset's own (k-fold tuning deals its own folds). */
  splits?: Record<SplitName, string[]>;
  /** Fine-tune from this checkpoint or exported .onnx; a different class list re-initialises only the class outputs. */
  from?: string;
  /** Continue an interrupted run: its folder (or its weights/last checkpoint). */
  resume?: string;
  epochs?: number;
  batch?: number;
  imgsz?: number;
  /** Train on random crops of this size (objects keep their scale; the model is still imgsz). */
  cropSize?: number;
  lr?: number;
  /** Detector width multiplier and architecture knobs (new models only). */
  width?: number;
  strides?: number[];
  block?: DetectorConfig['block'];
  /** Bins per box side (default sized to the input, see defaultBoxBins; 0: one regressed value per side). */
  boxBins?: number;
  /** Stop after this many epochs without a better validation fitness. */
  patience?: number;
  /** Stop (and fit the cosine schedule) so the run takes about this many minutes. */
  timeMinutes?: number;
  warmupEpochs?: number;
  /** Turn mosaic off for the last N epochs (the model then sees whole images, as at test time). */
  closeMosaic?: number;
  augment?: Partial<AugmentOptions>;
  classBalanced?: boolean;
  /** Distillation: temperature applied to logits and to the teacher's soft scores (1 = off). */
  temperature?: number;
  ema?: boolean;
  seed?: number;
  project?: string;
  name?: string;
  /** Reuse the run folder instead of making name2, name3, ... */
  existOk?: boolean;
  /** Threads computing each step (data-parallel replicas); default: one per core on wasm/cpu, up to 4. */
  threads?: number;
  /** Validation batch size. */
  valBatch?: number;
  logger?: Logger;
  /** Progress bar on stderr (default: when stderr is a terminal). */
  progress?: boolean;
}

type Optional = 'splits' | 'from' | 'resume' | 'timeMinutes' | 'strides' | 'boxBins' | 'logger' | 'augment' | 'progress' | 'cropSize' | 'threads';
export type ResolvedTrainOptions = Required<Omit<TrainOptions, Optional>> & Pick<TrainOptions, Optional>;

export const TRAIN_DEFAULTS = {
  epochs: 30,
  batch: 16,
  imgsz: 320,
  lr: 2e-3,
  width: 1,
  block: 'conv' as const,
  patience: 15,
  warmupEpochs: 1,
  closeMosaic: 2,
  classBalanced: true,
  temperature: 1,
  ema: true,
  seed: 0,
  project: 'runs/train',
  name: 'exp',
  existOk: false,
  valBatch: 8,
};

export function resolveTrainOptions(o: TrainOptions): ResolvedTrainOptions {
  const r = { ...TRAIN_DEFAULTS, ...stripUndefined(o) } as ResolvedTrainOptions;
  const positiveInt = (name: keyof ResolvedTrainOptions): void => {
    const v = r[name] as number;
    if (!Number.isInteger(v) || v <= 0) throw new KestrelError('E_TRAIN_OPTIONS', `--${name} must be a positive integer, got ${v}`);
  };
  positiveInt('epochs');
  positiveInt('batch');
  positiveInt('imgsz');
  if (!(r.lr > 0 && r.lr < 1)) throw new KestrelError('E_TRAIN_OPTIONS', `--lr must be between 0 and 1, got ${r.lr}`);
  if (r.imgsz % 32 !== 0) throw new KestrelError('E_TRAIN_OPTIONS', `--imgsz must be a multiple of 32, got ${r.imgsz}`);
  if (r.cropSize !== undefined && (r.cropSize % 32 !== 0 || r.cropSize <= 0 || r.cropSize > r.imgsz)) {
    throw new KestrelError('E_TRAIN_OPTIONS', `--crop must be a multiple of 32 and at most --imgsz (${r.imgsz}), got ${r.cropSize}`);
  }
  if (r.threads !== undefined) positiveInt('threads');
  for (const key of ['mosaic', 'flipLR', 'flipUD', 'colour'] as const) {
    const p = r.augment?.[key];
    if (p !== undefined && !(p >= 0 && p <= 1)) throw new KestrelError('E_TRAIN_OPTIONS', `augment.${key} must be a probability in [0, 1], got ${p}`);
  }
  const scale = r.augment?.scale;
  if (scale !== undefined && !(scale >= 0 && scale < 1)) throw new KestrelError('E_TRAIN_OPTIONS', `augment.scale must be in [0, 1), got ${scale}`);
  if (r.timeMinutes !== undefined && !(r.timeMinutes > 0)) throw new KestrelError('E_TRAIN_OPTIONS', `--time must be positive minutes, got ${r.timeMinutes}`);
  return r;
}

/** `o` without its undefined fields, so spreading it over defaults keeps the defaults. */
export function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

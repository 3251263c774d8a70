// The Kestrel detector's shape: everything needed to rebuild the same network, stored in every
// checkpoint so a checkpoint alone is enough to resume, fine-tune, evaluate or export.
import { KestrelError } from '@kestrel/core/util/errors';
import type { ImportedNetwork } from './spec.js';

export interface DetectorConfig {
  labels: string[];
  /** Input height and width in pixels (multiples of the largest stride). */
  inputHeight: number;
  inputWidth: number;
  /** Channel multiplier on the default widths (0.5 = half as many channels everywhere). */
  width: number;
  /** Output strides, ascending; each is one head level. */
  strides: number[];
  /** Plain 3×3 convolutions, or depthwise-separable blocks (fewer MACs, more layers). */
  block: 'conv' | 'dws';
  /** Extra stride-1 convs per backbone stage, for the stages at stride 4, 8, 16, 32. */
  depth: [number, number, number, number];
  /** 3×3 convs in each head level before its class and box outputs. */
  headConvs: number;
  /**
   * How each box side is predicted. n ≥ 2: a distribution over distances 0 … n−1 strides, read
   * as its expectation (GFL's "general distribution", as NanoDet does it), trained with
   * distribution focal loss: the net can say "the edge is between 2 and 3 strides" sharply,
   * where one regressed value averages its doubts into a loose box. 0: one softplus value per
   * side (models exported before bins existed, which carry no `boxBins`, load as 0).
   */
  boxBins: number;
  /**
   * A network rebuilt from an imported ONNX model (`kestrel train --from models/nanodet-416.onnx`):
   * when present it replaces the layers width/block/depth/headConvs describe; strides and boxBins
   * then come from it.
   */
  network?: ImportedNetwork;
  /**
   * Output channels of single convolutions by node name (spec.ts), overriding the widths the
   * multiplier gives: what `kestrel prune` writes for the layers it thinned. Absent: every layer
   * at its default width.
   */
  channels?: Record<string, number>;
}

export const DEFAULT_DETECTOR: Omit<DetectorConfig, 'labels'> = {
  inputHeight: 320,
  inputWidth: 320,
  width: 1,
  strides: [8, 16, 32],
  block: 'conv',
  depth: [1, 2, 2, 1],
  headConvs: 1,
  // Sized to the input by resolveDetectorConfig when not given (defaultBoxBins).
  boxBins: 8,
};

/** The fewest bins a new detector gets (NanoDet's reg_max 7). */
export const MIN_DEFAULT_BOX_BINS = 8;

/** Most bins a side may have: 32 strides at stride 32 is already 1024 px. */
export const MAX_BOX_BINS = 32;

/** Channels at width 1 for the stem and the stages at stride 4, 8, 16, 32; and the neck/head. */
export const BASE_CHANNELS = { stem: 16, stages: [32, 64, 96, 128], neck: 64 } as const;

export function scaledChannels(c: number, width: number): number {
  return Math.max(8, Math.round((c * width) / 8) * 8);
}

export function resolveDetectorConfig(partial: Partial<DetectorConfig> & { labels: string[] }): DetectorConfig {
  const given = Object.fromEntries(Object.entries(partial).filter(([, v]) => v !== undefined)) as Partial<DetectorConfig>;
  const cfg: DetectorConfig = { ...DEFAULT_DETECTOR, ...given, labels: partial.labels };
  if (given.boxBins === undefined) cfg.boxBins = defaultBoxBins(cfg);
  if (cfg.labels.length === 0) throw new KestrelError('E_MODEL_CONFIG', 'the detector needs at least one class label');
  const strides = [...cfg.strides];
  if (strides.length === 0 || strides.some((s, i) => ![8, 16, 32].includes(s) || (i > 0 && s <= strides[i - 1]))) {
    throw new KestrelError('E_MODEL_CONFIG', `strides must be an ascending subset of 8, 16, 32; got ${strides.join(',')}`);
  }
  const maxStride = strides[strides.length - 1];
  for (const [what, v] of [['height', cfg.inputHeight], ['width', cfg.inputWidth]] as const) {
    if (!Number.isInteger(v) || v < maxStride * 2 || v % maxStride !== 0) {
      throw new KestrelError('E_MODEL_CONFIG', `input ${what} ${v} must be a multiple of ${maxStride} (the largest stride) and at least ${maxStride * 2}`);
    }
  }
  if (!isBoxBins(cfg.boxBins)) {
    throw new KestrelError('E_MODEL_CONFIG', `boxBins must be 0 (one value per box side) or a whole number from 2 to ${MAX_BOX_BINS}, got ${cfg.boxBins}`);
  }
  if (cfg.network && cfg.network.levels.map((l) => l.stride).join(',') !== strides.join(',')) {
    throw new KestrelError('E_MODEL_CONFIG', `strides ${strides.join(',')} differ from the rebuilt ${cfg.network.family} network's head (${cfg.network.levels.map((l) => l.stride).join(',')})`);
  }
  if (!(cfg.width > 0 && cfg.width <= 4)) throw new KestrelError('E_MODEL_CONFIG', `width multiplier must be in (0, 4], got ${cfg.width}`);
  if (cfg.channels !== undefined) {
    if (typeof cfg.channels !== 'object' || cfg.channels === null || Array.isArray(cfg.channels)) throw new KestrelError('E_MODEL_CONFIG', 'channels must map layer names to channel counts');
    for (const [layer, n] of Object.entries(cfg.channels)) {
      if (!Number.isInteger(n) || n < 1) throw new KestrelError('E_MODEL_CONFIG', `channels.${layer} must be a positive whole number, got ${n}`);
    }
  }
  return cfg;
}

/** 0 (one value per side), or a whole number of bins from 2 to MAX_BOX_BINS. */
export function isBoxBins(n: number): boolean {
  return n === 0 || (Number.isInteger(n) && n >= 2 && n <= MAX_BOX_BINS);
}

/**
 * Bins enough for the largest object the input can hold: from a point at the centre of an object
 * as large as the image, each edge is half the image away, and that distance in the largest stride
 * must fit in the last bin (a side beyond it is clipped, so the box comes out too small). 8 at
 * 320–448 px with strides up to 32; 11 at 640.
 */
export function defaultBoxBins(cfg: Pick<DetectorConfig, 'inputHeight' | 'inputWidth' | 'strides'>): number {
  const largestStride = Math.max(...cfg.strides);
  const farthest = Math.max(cfg.inputHeight, cfg.inputWidth) / 2 / largestStride;
  return Math.min(MAX_BOX_BINS, Math.max(MIN_DEFAULT_BOX_BINS, Math.ceil(farthest) + 1));
}

/** Box outputs per anchor point: four sides, each one value or `boxBins` logits. */
export function boxChannels(cfg: Pick<DetectorConfig, 'boxBins'>): number {
  return 4 * Math.max(1, cfg.boxBins);
}

/** A saved config (checkpoint, exported architecture) from before `boxBins` had one value per side. */
export function withSavedDefaults<T extends Partial<DetectorConfig>>(saved: T): T & Pick<DetectorConfig, 'boxBins'> {
  return { ...saved, boxBins: saved.boxBins ?? 0 };
}

/** Anchor points per level and in total. */
export function levelSizes(cfg: Pick<DetectorConfig, 'inputHeight' | 'inputWidth' | 'strides'>): Array<{ stride: number; rows: number; cols: number }> {
  return cfg.strides.map((stride) => ({ stride, rows: cfg.inputHeight / stride, cols: cfg.inputWidth / stride }));
}

export function anchorCount(cfg: Pick<DetectorConfig, 'inputHeight' | 'inputWidth' | 'strides'>): number {
  return levelSizes(cfg).reduce((n, l) => n + l.rows * l.cols, 0);
}

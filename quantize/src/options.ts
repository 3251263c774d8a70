// What a user can ask of the quantizer, and what each target runtime needs.
import type { KestrelMetadata } from '@kestrel/core/model/metadata';
import type { Logger } from '@kestrel/core/util/log';
import type { CalibrationMethod } from './calib/calibrators.js';
import type { TensorFeed } from './calib/collect.js';
import type { Placement } from './rewrite/plan.js';
import type { ActivationScheme } from './rewrite/qdq.js';

export const PROFILES = ['ort-cpu', 'tensorrt'] as const;
export type QuantizeProfile = (typeof PROFILES)[number];

export interface ProfileSettings {
  placement: Placement;
  activation: ActivationScheme;
  keepStemFloat: boolean;
  /** 7-bit weights, so x86 CPUs without VNNI do not saturate (see math/qparams.ts). */
  reduceRange: boolean;
  /** Apply the exact float rewrites of rewrite/placement.ts before quantizing. */
  rewrites: boolean;
}

/**
 * ort-cpu: uint8 activations (ORT's fastest U8S8 kernels), Q/DQ around every integer op so each
 * fuses, the 3-channel stem left in float. tensorrt: int8 activations with zero point 0 (TensorRT
 * rejects anything else), Q/DQ on weighted-op inputs only, TensorRT places the rest.
 */
export const PROFILE_SETTINGS: Record<QuantizeProfile, ProfileSettings> = {
  'ort-cpu': { placement: 'inputs-and-outputs', activation: { type: 'uint8', symmetric: false }, keepStemFloat: true, reduceRange: false, rewrites: true },
  tensorrt: { placement: 'inputs-only', activation: { type: 'int8', symmetric: true }, keepStemFloat: false, reduceRange: false, rewrites: true },
};

export type QuantizePhase = 'calibrate' | 'verify' | 'agreement' | 'benchmark';

export interface QuantizeProgress {
  phase: QuantizePhase;
  done: number;
  total: number;
}

export interface QuantizeOptions {
  /** Where the INT8 model goes (written atomically). */
  output: string;
  /** A folder of images, or the agent's frames buffer (folder with index.sqlite). */
  calib?: string;
  /** Instead of images: model inputs to calibrate on (for models that do not read images). */
  calibrationData?: Iterable<TensorFeed> | AsyncIterable<TensorFeed>;
  /** How many items calibrationData yields, for progress only. */
  calibrationDataCount?: number;
  method?: CalibrationMethod;
  profile?: QuantizeProfile;
  /** Per output channel weight scales (default true: ORT's and TensorRT's recipe). */
  perChannel?: boolean;
  /**
   * 7-bit weights (default false, as ORT). x86 CPUs without VNNI (AVX2-only Intel, AMD before
   * Zen 4) can saturate int16 sums with full int8 weights: worth turning on if a model loses
   * accuracy only on such CPUs (NanoDet did not: its error was lower with 8-bit weights).
   */
  reduceRange?: boolean;
  /** Node names or op types to keep in float. */
  exclude?: string[];
  /** Keep the decode tail after the last weighted op in float (default true). */
  keepTailFloat?: boolean;
  /** Overrides the profile's choice for the image-reading stem Conv. */
  keepStemFloat?: boolean;
  /** At most this many calibration images, evenly spaced over the folder (default 200). */
  maxCalibrationImages?: number;
  /** Images for the agreement check; default: every 5th calibration image, held out. */
  heldOutImages?: string[];
  /** Measure detection agreement FP32 vs INT8 on held-out images (default true with images). */
  agreement?: boolean;
  /** Time FP32 vs INT8 in child processes (default true); false skips it. */
  benchmark?: boolean | { rounds?: number; iterations?: number };
  threads?: number;
  /** Metadata for models that carry none. */
  overrides?: Partial<KestrelMetadata>;
  onProgress?: (p: QuantizeProgress) => void;
  logger?: Logger;
}

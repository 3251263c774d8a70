import type { Detection } from '../types.js';
import type { DecoderName, KestrelMetadata } from '../../model/metadata.js';

export interface OutputTensor {
  data: Float32Array;
  dims: readonly number[];
}

/** Raw model outputs by output name. */
export type ModelOutputs = Record<string, OutputTensor>;

/** Output shapes by output name (what `check` validates before the first frame). */
export type OutputShapes = Record<string, readonly number[]>;

export interface DecodeOptions {
  /** Candidates below this score are not decoded at all (saves the box math). */
  scoreThreshold: number;
}

/**
 * Turns a detector family's raw outputs into candidate detections in model-input pixels.
 * NMS and the mapping to source pixels happen after, the same for every family.
 */
export interface Decoder {
  readonly name: DecoderName;
  /** Throws KestrelError('E_MODEL_OUTPUTS') naming what does not fit. */
  check(shapes: OutputShapes, meta: KestrelMetadata): void;
  decode(outputs: ModelOutputs, meta: KestrelMetadata, options: DecodeOptions): Detection[];
}

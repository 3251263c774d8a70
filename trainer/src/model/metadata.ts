// How a Kestrel detector describes itself to the agent (`kestrel.*` metadata), and the
// normalisation its input expects. One place, used by training, evaluation and export.
import type { InputSpec, KestrelMetadata } from '@kestrel/core/model/metadata';
import type { DetectorConfig } from './config.js';

/** RGB in 0..1: mean 0, std 255; letterboxed with grey 114 (what the training pipeline pads with). */
export const PAD_VALUE = 114;

export function detectorInputSpec(config: Pick<DetectorConfig, 'inputWidth' | 'inputHeight'>): InputSpec {
  return { width: config.inputWidth, height: config.inputHeight, layout: 'NCHW', colour: 'RGB', mean: [0, 0, 0], std: [255, 255, 255], letterbox: true, padValue: PAD_VALUE };
}

export function detectorMetadata(config: DetectorConfig, extra: Partial<KestrelMetadata> = {}): KestrelMetadata {
  return { decoder: 'kestrel', labels: [...config.labels], input: detectorInputSpec(config), strides: [...config.strides], ...extra };
}

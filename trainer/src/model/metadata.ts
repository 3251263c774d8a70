// How a Kestrel detector describes itself to the agent (`kestrel.*` metadata), and the
// normalisation its input expects. One place, used by training, evaluation and export.
import { defaultInputSpec, type InputSpec, type KestrelMetadata } from '@kestrel/core/model/metadata';
import type { DetectorConfig } from './config.js';

/** Core's default input: RGB in 0..1, letterboxed with DEFAULT_PAD_VALUE grey (what the training pipeline pads with). */
export function detectorInputSpec(config: Pick<DetectorConfig, 'inputWidth' | 'inputHeight'>): InputSpec {
  return defaultInputSpec(config.inputWidth, config.inputHeight);
}

export function detectorMetadata(config: DetectorConfig, extra: Partial<KestrelMetadata> = {}): KestrelMetadata {
  return { decoder: 'kestrel', labels: [...config.labels], input: detectorInputSpec(config), strides: [...config.strides], ...extra };
}

import { demoInput, type DemoInputOptions } from './demo.js';
import type { FfmpegInput } from './ffmpeg-args.js';
import { FfmpegSource, type FfmpegSourceOptions } from './ffmpeg-source.js';
import { fileInput, type FileInputOptions } from './file.js';
import { rtspInput, type RtspInputOptions } from './rtsp.js';
import type { FrameSource } from './types.js';
import { v4l2Input, type V4l2InputOptions } from './v4l2.js';

/**
 * What to open, by type: the config's `cameras[i].source` as it is (a camera's parsed config
 * source is a SourceSpec), plus tuning only code sets.
 */
export type SourceSpec =
  | ({ type: 'rtsp' } & RtspInputOptions)
  | ({ type: 'file' } & FileInputOptions)
  | ({ type: 'v4l2' } & V4l2InputOptions)
  | ({ type: 'demo' } & DemoInputOptions);

export interface SourceOptions extends Omit<FfmpegSourceOptions, 'input'> {
  source: SourceSpec;
}

/**
 * Builds a camera from parsed options. Its options were checked where they came from (the
 * config, the model's metadata); everything that can only go wrong at run time (unreachable
 * camera, missing file, missing ffmpeg) is reported through the source's state.
 */
export function createSource(options: SourceOptions): FrameSource {
  return new FfmpegSource({ ...options, input: inputFor(options.source) });
}

export function inputFor(spec: SourceSpec): FfmpegInput {
  switch (spec.type) {
    case 'rtsp':
      return rtspInput(spec);
    case 'file':
      return fileInput(spec);
    case 'v4l2':
      return v4l2Input(spec);
    case 'demo':
      return demoInput(spec);
  }
}

import { KestrelError, isKestrelError } from '@kestrel/core/util/errors';
import { validateBackoff } from './backoff.js';
import { demoInput, type DemoInputOptions } from './demo.js';
import type { FfmpegInput } from './ffmpeg-args.js';
import { validateOutput } from './ffmpeg-filter.js';
import { FfmpegSource, type FfmpegSourceOptions } from './ffmpeg-source.js';
import { fileInput, type FileInputOptions } from './file.js';
import { rtspInput, type RtspInputOptions } from './rtsp.js';
import type { FrameSource } from './types.js';
import { v4l2Input, type V4l2InputOptions } from './v4l2.js';

/** What to open, by kind (the config's `cameras[i].source`). */
export type SourceSpec =
  | ({ kind: 'rtsp' } & RtspInputOptions)
  | ({ kind: 'file' } & FileInputOptions)
  | ({ kind: 'v4l2' } & V4l2InputOptions)
  | ({ kind: 'demo' } & DemoInputOptions);

export interface SourceOptions extends Omit<FfmpegSourceOptions, 'input'> {
  source: SourceSpec;
}

/**
 * Builds a camera from plain options. Options that cannot work throw a KestrelError
 * (`E_SOURCE_OPTIONS`) naming the camera and the field; everything that can only go wrong at
 * run time (unreachable camera, missing file, missing ffmpeg) is reported through the source's
 * state instead.
 */
export function createSource(options: SourceOptions): FrameSource {
  const camera = options.camera;
  if (typeof camera !== 'string' || camera.trim() === '') {
    throw new KestrelError('E_SOURCE_OPTIONS', `camera name must be a non-empty string, got ${JSON.stringify(camera)}`);
  }
  try {
    const input = inputFor(options.source);
    checkNumbers(options);
    return new FfmpegSource({ ...options, input });
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    const details = isKestrelError(err) ? err.details : undefined;
    throw new KestrelError('E_SOURCE_OPTIONS', `camera "${camera}": ${message}`, { camera, ...details });
  }
}

export function inputFor(spec: SourceSpec): FfmpegInput {
  switch (spec?.kind) {
    case 'rtsp':
      return rtspInput(spec);
    case 'file':
      return fileInput(spec);
    case 'v4l2':
      return v4l2Input(spec);
    case 'demo':
      return demoInput(spec);
    default:
      throw new KestrelError('E_SOURCE_OPTIONS', `source.kind: expected rtsp, file, v4l2 or demo, got ${JSON.stringify((spec as { kind?: unknown } | undefined)?.kind)}`);
  }
}

function checkNumbers(options: SourceOptions): void {
  try {
    validateOutput(options.output);
  } catch (err) {
    throw new KestrelError('E_SOURCE_OPTIONS', `output: ${(err as Error).message}`);
  }
  const positive: Array<[string, number | undefined]> = [
    ['stallSeconds', options.stallSeconds],
    ['connectTimeoutSeconds', options.connectTimeoutSeconds],
    ['stopGraceMs', options.stopGraceMs],
  ];
  for (const [field, value] of positive) {
    if (value !== undefined && !(value > 0 && Number.isFinite(value))) throw new KestrelError('E_SOURCE_OPTIONS', `${field}: must be a positive number, got ${value}`);
  }
  const backoffProblem = options.backoff && validateBackoff(options.backoff);
  if (backoffProblem) throw new KestrelError('E_SOURCE_OPTIONS', backoffProblem);
}

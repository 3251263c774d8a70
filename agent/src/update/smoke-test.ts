import { KestrelError, type Detection, type Logger } from '@kestrel/core';
import { InferenceEngine } from '../inference/engine.js';
import type { LoadOptions, ModelInfo } from '../inference/protocol.js';
import type { Frame } from '../source/types.js';

export interface SmokeTestOptions {
  /** Load options of the running model (providers, overrides, cache dir); threads are capped at 1. */
  load: LoadOptions;
  /** Loading plus every trial inference must fit in this. */
  loadTimeoutMs: number;
  /** Each trial inference must answer within this. */
  frameBudgetMs: number;
  /** Frames to try at most (the most recent ones). */
  maxFrames: number;
  logger: Logger;
}

export interface SmokeTestResult {
  info: ModelInfo;
  frames: number;
  maxInferenceMs: number;
  detections: number;
}

/**
 * Tries a candidate model in a second session, in its own worker, on recent live frames, while
 * the running model goes on serving the cameras. A candidate passes when it loads (ONNX Runtime
 * accepts it and its outputs fit its decoder — Detector.load checks both), takes the cameras'
 * input size (the ffmpeg scalers are set for it: another size would need a camera restart), answers
 * each frame within the budget, and returns well-formed detections. Throws E_SMOKE_* with why.
 */
export async function smokeTest(modelPath: string, frames: readonly Frame[], options: SmokeTestOptions): Promise<SmokeTestResult> {
  const engine = new InferenceEngine({
    modelPath,
    // One intra-op thread: the trial must not starve the model that serves the cameras meanwhile.
    load: { ...options.load, threads: 1 },
    logger: options.logger,
    hangTimeoutMs: Math.max(options.frameBudgetMs * 4, 5000),
    maxInFlight: 1,
  });
  try {
    let info: ModelInfo;
    try {
      info = await withTimeout(engine.start(), options.loadTimeoutMs, `loading took longer than ${options.loadTimeoutMs} ms`);
    } catch (err) {
      throw new KestrelError('E_SMOKE_LOAD', `the model does not load: ${(err as Error).message}`);
    }
    const input = info.meta.input;
    const sample = frames.slice(-options.maxFrames);
    for (const frame of sample) {
      if (frame.width !== input.width || frame.height !== input.height) {
        throw new KestrelError('E_SMOKE_INPUT', `the model takes ${input.width}x${input.height} input but camera ${frame.camera} delivers ${frame.width}x${frame.height} frames`);
      }
    }
    let maxInferenceMs = 0;
    let detections = 0;
    for (const frame of sample) {
      const started = Date.now();
      let result;
      try {
        result = await withTimeout(engine.infer(frame.data.slice(), frame.geometry, {}), options.frameBudgetMs, `no answer within ${options.frameBudgetMs} ms`);
      } catch (err) {
        throw new KestrelError('E_SMOKE_RUN', `inference on a frame of camera ${frame.camera} failed: ${(err as Error).message}`);
      }
      const elapsed = Date.now() - started;
      if (elapsed > options.frameBudgetMs) {
        throw new KestrelError('E_SMOKE_SLOW', `inference on a frame of camera ${frame.camera} took ${elapsed} ms, the budget is ${options.frameBudgetMs} ms`);
      }
      const problem = malformed(result.detections, info.meta.labels, frame);
      if (problem) throw new KestrelError('E_SMOKE_OUTPUT', `malformed output on a frame of camera ${frame.camera}: ${problem}`);
      maxInferenceMs = Math.max(maxInferenceMs, result.inferenceMs);
      detections += result.detections.length;
    }
    return { info, frames: sample.length, maxInferenceMs, detections };
  } finally {
    await engine.stop().catch(() => undefined);
  }
}

/** Why detections are not usable (NaN boxes, scores outside 0..1, unknown labels), or null. */
export function malformed(detections: readonly Detection[], labels: readonly string[], frame: Pick<Frame, 'geometry'>): string | null {
  const known = new Set(labels);
  const { srcWidth, srcHeight } = frame.geometry;
  for (const d of detections) {
    if (!Number.isFinite(d.score) || d.score < 0 || d.score > 1) return `score ${d.score} is not in 0..1`;
    if (!known.has(d.label)) return `label ${JSON.stringify(d.label)} is not one of the model's ${labels.length} labels`;
    const [x1, y1, x2, y2] = d.box;
    if (![x1, y1, x2, y2].every(Number.isFinite)) return `box [${d.box.join(', ')}] is not finite`;
    if (x2 < x1 || y2 < y1 || x1 < -1 || y1 < -1 || x2 > srcWidth + 1 || y2 > srcHeight + 1) return `box [${d.box.join(', ')}] is outside the ${srcWidth}x${srcHeight} frame`;
  }
  return null;
}

function withTimeout<T>(promise: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout;
  return Promise.race([
    promise.finally(() => clearTimeout(timer)),
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(message)), ms);
    }),
  ]);
}

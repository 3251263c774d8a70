import type { Detection, DetectOptions, KestrelMetadata, LetterboxGeometry, ProviderName } from '@kestrel/core';

/** What the main thread asks of the inference worker. */
export type WorkerRequest =
  | { type: 'load'; id: number; modelPath: string; options: LoadOptions }
  /** `tensor`: the model input (NCHW float32), prepared on the main thread and transferred, not copied. */
  | { type: 'infer'; id: number; tensor: Float32Array; geometry: LetterboxGeometry; options: DetectOptions }
  | { type: 'close'; id: number };

export interface LoadOptions {
  providers?: ProviderName[];
  threads?: number;
  overrides?: Partial<KestrelMetadata>;
  cacheDir?: string;
}

export interface ModelInfo {
  path: string;
  sha256: string;
  meta: KestrelMetadata;
  provider: ProviderName;
  skippedProviders: { provider: ProviderName; reason: string }[];
}

export interface InferenceResult {
  detections: Detection[];
  preprocessMs: number;
  inferenceMs: number;
  decodeMs: number;
}

/** What the worker answers; `id` matches the request. */
export type WorkerResponse =
  | { type: 'loaded'; id: number; info: ModelInfo }
  /** `tensor` is the request's input buffer, transferred back for the next frame. */
  | { type: 'result'; id: number; result: Omit<InferenceResult, 'preprocessMs'>; tensor: Float32Array }
  | { type: 'closed'; id: number }
  | { type: 'error'; id: number; code: string; message: string };

import type { Detection, DetectOptions, KestrelMetadata, LetterboxGeometry, ProviderName } from '@kestrel/core';

/** What the main thread asks of the inference worker. */
export type WorkerRequest =
  | { type: 'load'; id: number; modelPath: string; options: LoadOptions }
  | { type: 'infer'; id: number; rgb: Uint8Array; geometry: LetterboxGeometry; options: DetectOptions }
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
  | { type: 'result'; id: number; result: InferenceResult }
  | { type: 'closed'; id: number }
  | { type: 'error'; id: number; code: string; message: string };

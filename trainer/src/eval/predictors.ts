// One interface for "run a detector over dataset images": a TF.js checkpoint in this process, or
// an ONNX model (FP32 or INT8) in ONNX Runtime through core's Detector — the agent's own path.
import { performance } from 'node:perf_hooks';
import type { Detection } from '@kestrel/core/detect/types';
import { Detector } from '@kestrel/core/detect/detector';
import type { KestrelMetadata } from '@kestrel/core/model/metadata';
import type { DatasetItem } from '../data/types.js';
import { evalBatches } from '../data/loader.js';
import type { KestrelModel } from '../model/build.js';
import { detectorMetadata } from '../model/metadata.js';
import { detectionsFromOutputs, runModel, EVAL_POSTPROCESS, type PostprocessOptions } from '../model/predict.js';

export interface ImageResult {
  item: DatasetItem;
  detections: Detection[];
}

export interface Predictor {
  readonly meta: KestrelMetadata;
  readonly kind: 'checkpoint' | 'onnx';
  predict(items: readonly DatasetItem[], post?: PostprocessOptions): AsyncGenerator<ImageResult>;
  /** Milliseconds of model time per image over the last predict() (preprocessing excluded). */
  readonly msPerImage: number;
  close(): Promise<void>;
}

export class CheckpointPredictor implements Predictor {
  readonly kind = 'checkpoint' as const;
  readonly meta: KestrelMetadata;
  msPerImage = NaN;

  constructor(
    private readonly model: KestrelModel,
    private readonly batch = 8,
  ) {
    this.meta = detectorMetadata(model.config);
  }

  async *predict(items: readonly DatasetItem[], post: PostprocessOptions = EVAL_POSTPROCESS): AsyncGenerator<ImageResult> {
    let ms = 0;
    let n = 0;
    for await (const b of evalBatches(items, this.meta.input, this.batch)) {
      const t0 = performance.now();
      const raw = runModel(this.model, b.images, b.entries.length);
      ms += performance.now() - t0;
      n += b.entries.length;
      for (let i = 0; i < b.entries.length; i++) yield { item: b.entries[i].item, detections: detectionsFromOutputs(this.meta, raw, i, b.entries[i].geometry, post) };
    }
    this.msPerImage = n > 0 ? ms / n : NaN;
  }

  async close(): Promise<void> {}
}

export class OnnxPredictor implements Predictor {
  readonly kind = 'onnx' as const;
  msPerImage = NaN;

  private constructor(private readonly detector: Detector) {}

  get meta(): KestrelMetadata {
    return this.detector.meta;
  }

  static async load(path: string, threads?: number): Promise<OnnxPredictor> {
    return new OnnxPredictor(await Detector.load(path, threads ? { threads } : {}));
  }

  async *predict(items: readonly DatasetItem[], post: PostprocessOptions = EVAL_POSTPROCESS): AsyncGenerator<ImageResult> {
    let ms = 0;
    for (const item of items) {
      const r = await this.detector.detect(item.imagePath, { scoreThreshold: post.scoreThreshold, iouThreshold: post.iouThreshold, maxDetections: post.maxDetections });
      ms += r.timings.inferenceMs;
      yield { item, detections: r.detections };
    }
    this.msPerImage = items.length > 0 ? ms / items.length : NaN;
  }

  async close(): Promise<void> {
    await this.detector.close();
  }
}

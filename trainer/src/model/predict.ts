// Inference with a TF.js detector, decoded by the same code the agent uses for the exported ONNX
// model (core's kestrel decoder, NMS, un-letterbox): a checkpoint and its export are scored alike.
import * as tf from '@tensorflow/tfjs';
import type { Detection } from '@kestrel/core/detect/types';
import { getDecoder } from '@kestrel/core/detect/decoders/index';
import { nms } from '@kestrel/core/detect/nms';
import { unletterboxBox, type LetterboxGeometry } from '@kestrel/core/image/letterbox';
import type { KestrelMetadata } from '@kestrel/core/model/metadata';
import { forward, type KestrelModel } from './build.js';
import { anchorCount } from './config.js';

export interface PostprocessOptions {
  scoreThreshold: number;
  iouThreshold: number;
  maxDetections: number;
}

/** Evaluation needs low-score detections too (AP integrates over every threshold). */
export const EVAL_POSTPROCESS: PostprocessOptions = { scoreThreshold: 0.01, iouThreshold: 0.6, maxDetections: 100 };

/** The contract's raw outputs for a batch: scores [B,N,C] after sigmoid and distances [B,N,4]. */
export function runModel(model: KestrelModel, images: Float32Array, batch: number): { scores: Float32Array; boxes: Float32Array } {
  const { inputHeight: H, inputWidth: W } = model.config;
  return tf.tidy(() => {
    const x = tf.tensor4d(images, [batch, H, W, 3]);
    const out = forward(model, x, false);
    return { scores: tf.sigmoid(out.logits).dataSync() as Float32Array, boxes: out.distances.dataSync() as Float32Array };
  });
}

/** Image `index` of a batch's raw outputs → detections in source pixels. */
export function detectionsFromOutputs(meta: KestrelMetadata, raw: { scores: Float32Array; boxes: Float32Array }, index: number, geometry: LetterboxGeometry, o: PostprocessOptions = EVAL_POSTPROCESS): Detection[] {
  const C = meta.labels.length;
  const N = anchorCount({ inputHeight: meta.input.height, inputWidth: meta.input.width, strides: meta.strides ?? [] });
  const outputs = {
    scores: { data: raw.scores.subarray(index * N * C, (index + 1) * N * C), dims: [1, N, C] },
    boxes: { data: raw.boxes.subarray(index * N * 4, (index + 1) * N * 4), dims: [1, N, 4] },
  };
  const candidates = getDecoder('kestrel').decode(outputs, meta, { scoreThreshold: o.scoreThreshold });
  return nms(candidates, { iouThreshold: o.iouThreshold, maxDetections: o.maxDetections }).map((d) => ({ ...d, box: unletterboxBox(d.box, geometry) }));
}

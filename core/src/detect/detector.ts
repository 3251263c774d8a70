import { readFile } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import ort from 'onnxruntime-node';
import { decodeModel } from '../onnx/io.js';
import { readMetadata, type KestrelMetadata } from '../model/metadata.js';
import { createSession, type ProviderName, type SessionOptions } from '../runtime/providers.js';
import { imageToInput } from '../image/preprocess.js';
import { unletterboxBox, type LetterboxGeometry } from '../image/letterbox.js';
import { getDecoder, type Decoder, type ModelOutputs, type OutputShapes } from './decoders/index.js';
import { nms } from './nms.js';
import type { Detection } from './types.js';
import { KestrelError } from '../util/errors.js';

export interface DetectorOptions extends SessionOptions {
  /** Metadata for models that carry none (a plain Ultralytics export), or to override it. */
  overrides?: Partial<KestrelMetadata>;
}

export interface DetectOptions {
  scoreThreshold?: number;
  iouThreshold?: number;
  maxDetections?: number;
}

export interface DetectTimings {
  preprocessMs: number;
  inferenceMs: number;
  decodeMs: number;
}

export interface ImageDetections {
  detections: Detection[];
  width: number;
  height: number;
  timings: DetectTimings;
}

export const DEFAULT_SCORE_THRESHOLD = 0.25;

/**
 * A loaded detection model: ONNX Runtime session + the model's own metadata + its decoder.
 * Everything model-specific (input size, colour order, normalisation, output layout) comes from
 * the metadata, so one Detector serves every supported family.
 */
export class Detector {
  private constructor(
    readonly modelPath: string,
    readonly sha256: string,
    readonly meta: KestrelMetadata,
    readonly provider: ProviderName,
    readonly skippedProviders: { provider: ProviderName; reason: string }[],
    private readonly session: ort.InferenceSession,
    private readonly decoder: Decoder,
    readonly inputName: string,
    readonly outputShapes: OutputShapes,
  ) {}

  static async load(modelPath: string, options: DetectorOptions = {}): Promise<Detector> {
    let bytes: Buffer;
    try {
      bytes = await readFile(modelPath);
    } catch (err) {
      throw new KestrelError('E_MODEL_MISSING', `cannot read model ${modelPath}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
    return Detector.fromBytes(bytes, modelPath, options);
  }

  static async fromBytes(bytes: Uint8Array, modelPath: string, options: DetectorOptions = {}): Promise<Detector> {
    const proto = decodeModel(bytes, modelPath);
    const meta = readMetadata(proto, options.overrides, modelPath);
    checkInputShape(proto, meta, modelPath);
    const { session, provider, skipped } = await createSession(bytes, options);
    const decoder = getDecoder(meta.decoder);
    const inputName = session.inputNames[0];
    // One inference on a blank frame: a smoke test that the model runs, a warm-up, and the only
    // portable way to learn every output's concrete shape before the first real frame.
    let outputs: ModelOutputs;
    try {
      outputs = await runSession(session, inputName, new Float32Array(3 * meta.input.width * meta.input.height), meta);
    } catch (err) {
      await session.release().catch(() => undefined);
      throw new KestrelError('E_MODEL_RUN', `${modelPath} failed its first inference: ${(err as Error).message.split('\n')[0]}`);
    }
    const shapes: OutputShapes = Object.fromEntries(Object.entries(outputs).map(([k, v]) => [k, v.dims]));
    try {
      decoder.check(shapes, meta);
    } catch (err) {
      await session.release().catch(() => undefined);
      throw err;
    }
    const sha256 = createHash('sha256').update(bytes).digest('hex');
    return new Detector(modelPath, sha256, meta, provider, skipped, session, decoder, inputName, shapes);
  }

  /** Runs the model on a prepared NCHW tensor. */
  runTensor(tensor: Float32Array): Promise<ModelOutputs> {
    return runSession(this.session, this.inputName, tensor, this.meta);
  }

  /** Raw outputs → detections in source pixels (decode, NMS, un-letterbox). */
  decode(outputs: ModelOutputs, geometry: LetterboxGeometry, options: DetectOptions = {}): Detection[] {
    const candidates = this.decoder.decode(outputs, this.meta, { scoreThreshold: options.scoreThreshold ?? DEFAULT_SCORE_THRESHOLD });
    const kept = nms(candidates, { iouThreshold: options.iouThreshold ?? 0.5, maxDetections: options.maxDetections ?? 100 });
    return kept.map((d) => ({ ...d, box: unletterboxBox(d.box, geometry) }));
  }

  async detectTensor(tensor: Float32Array, geometry: LetterboxGeometry, options: DetectOptions = {}): Promise<{ detections: Detection[]; inferenceMs: number; decodeMs: number }> {
    const t0 = performance.now();
    const outputs = await this.runTensor(tensor);
    const t1 = performance.now();
    const detections = this.decode(outputs, geometry, options);
    return { detections, inferenceMs: t1 - t0, decodeMs: performance.now() - t1 };
  }

  /** An image file or encoded buffer → detections in its own pixels. */
  async detect(source: string | Buffer, options: DetectOptions = {}): Promise<ImageDetections> {
    const t0 = performance.now();
    const { tensor, geometry } = await imageToInput(source, this.meta.input);
    const preprocessMs = performance.now() - t0;
    const { detections, inferenceMs, decodeMs } = await this.detectTensor(tensor, geometry, options);
    return { detections, width: geometry.srcWidth, height: geometry.srcHeight, timings: { preprocessMs, inferenceMs, decodeMs } };
  }

  async close(): Promise<void> {
    await this.session.release();
  }
}

async function runSession(session: ort.InferenceSession, inputName: string, tensor: Float32Array, meta: KestrelMetadata): Promise<ModelOutputs> {
  const feeds = { [inputName]: new ort.Tensor('float32', tensor, [1, 3, meta.input.height, meta.input.width]) };
  const result = await session.run(feeds);
  const outputs: ModelOutputs = {};
  for (const [name, value] of Object.entries(result)) {
    if (value.type !== 'float32') throw new KestrelError('E_MODEL_OUTPUTS', `output ${name} is ${value.type}, Kestrel decoders read float32`);
    const data = value.data as Float32Array;
    assertFinite(name, data);
    outputs[name] = { data, dims: value.dims };
  }
  return outputs;
}

/**
 * A NaN compares false with every threshold, so a model whose outputs went NaN (a bad
 * quantization, an overflow in fp16) would look like an empty scene: no detections, no error, and
 * a health watch that passes. Such a frame is an inference failure instead. One sum finds any NaN
 * or ±Inf (both poison it) in a single pass, cheaper than a test per value.
 */
function assertFinite(name: string, data: Float32Array): void {
  let sum = 0;
  for (let i = 0; i < data.length; i++) sum += data[i];
  if (Number.isFinite(sum)) return;
  let nan = 0;
  let infinite = 0;
  for (let i = 0; i < data.length; i++) {
    if (Number.isNaN(data[i])) nan++;
    else if (!Number.isFinite(data[i])) infinite++;
  }
  throw new KestrelError('E_INFERENCE_NONFINITE', `the model's output ${name} has ${nan} NaN and ${infinite} infinite values of ${data.length}`);
}

/** The graph's declared input shape must agree with the metadata (dynamic axes pass). */
function checkInputShape(proto: ReturnType<typeof decodeModel>, meta: KestrelMetadata, source: string): void {
  const initializers = new Set((proto.graph?.initializer ?? []).map((t) => t.name));
  const input = (proto.graph?.input ?? []).find((i) => !initializers.has(i.name));
  const dims = input?.type?.tensorType?.shape?.dim;
  if (!dims) return;
  if (dims.length !== 4) {
    throw new KestrelError('E_MODEL_INPUT', `${source}: input ${input?.name} has ${dims.length} dimensions, Kestrel expects NCHW [1,3,H,W]`);
  }
  const want = [1, 3, meta.input.height, meta.input.width];
  dims.forEach((d, i) => {
    const v = d.dimValue === undefined || d.dimValue === null ? 0 : Number(d.dimValue);
    if (v > 0 && v !== want[i]) {
      throw new KestrelError('E_MODEL_INPUT', `${source}: input ${input?.name} is [${dims.map((x) => Number(x.dimValue ?? 0) || x.dimParam || '?').join(',')}], metadata says [${want.join(',')}]`);
    }
  });
}

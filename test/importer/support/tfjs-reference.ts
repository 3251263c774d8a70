// The reference side of the importer's equivalence tests: the ORIGINAL TF.js graph model run by
// TensorFlow.js itself (wasm backend; tfjs-node cannot install here), and the converted ONNX
// model run by ONNX Runtime, on the same inputs.
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { createRequire } from 'node:module';
import * as tf from '@tensorflow/tfjs';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import * as ort from 'onnxruntime-node';
import sharp from 'sharp';

let backendReady: Promise<void> | undefined;

/** TF.js on the wasm backend (SIMD), once per process. */
export function useWasmBackend(): Promise<void> {
  backendReady ??= (async () => {
    const require = createRequire(import.meta.url);
    setWasmPaths(dirname(require.resolve('@tensorflow/tfjs-backend-wasm')) + '/');
    if (!(await tf.setBackend('wasm'))) throw new Error('the TF.js wasm backend did not start');
    await tf.ready();
  })();
  return backendReady;
}

interface ManifestGroup {
  paths: string[];
  weights: tf.io.WeightsManifestEntry[];
}

/** Loads a graph model from disk the way TF.js would from a server: model.json + shards. */
export async function loadTfjsGraphModel(modelJsonPath: string): Promise<tf.GraphModel> {
  await useWasmBackend();
  const json = JSON.parse(readFileSync(modelJsonPath, 'utf8')) as { modelTopology: object; weightsManifest: ManifestGroup[]; signature?: object; format?: string };
  const dir = dirname(modelJsonPath);
  const shards = json.weightsManifest.flatMap((g) => g.paths.map((p) => readFileSync(join(dir, p))));
  const all = Buffer.concat(shards);
  const weightData = all.buffer.slice(all.byteOffset, all.byteOffset + all.byteLength);
  const handler: tf.io.IOHandler = {
    load: async () => ({
      modelTopology: json.modelTopology,
      format: json.format,
      signature: json.signature,
      weightSpecs: json.weightsManifest.flatMap((g) => g.weights),
      weightData,
    }),
  };
  return tf.loadGraphModel(handler);
}

export interface NamedArray {
  data: Float32Array | Int32Array;
  shape: number[];
}

/** Runs the TF.js model on one float32 input; returns the named outputs. */
export async function runTfjs(model: tf.GraphModel, input: NamedArray, outputs: string[]): Promise<Record<string, NamedArray>> {
  const x = tf.tensor(input.data, input.shape, 'float32');
  try {
    const result = (await model.executeAsync(x, outputs)) as tf.Tensor | tf.Tensor[];
    const list = Array.isArray(result) ? result : [result];
    const named: Record<string, NamedArray> = {};
    for (const [i, t] of list.entries()) {
      named[outputs[i]] = { data: (await t.data()) as Float32Array | Int32Array, shape: t.shape };
      t.dispose();
    }
    return named;
  } finally {
    x.dispose();
  }
}

/** One ONNX Runtime CPU session, without spinning threads (tests run side by side on 2 cores). */
export function createSession(model: Uint8Array | string, threads = 1): Promise<ort.InferenceSession> {
  const options: ort.InferenceSession.SessionOptions = {
    intraOpNumThreads: threads,
    interOpNumThreads: 1,
    executionProviders: ['cpu'],
    extra: { session: { intra_op: { allow_spinning: '0' } } },
  };
  return typeof model === 'string' ? ort.InferenceSession.create(model, options) : ort.InferenceSession.create(model, options);
}

export async function runOnnx(session: ort.InferenceSession, inputName: string, input: NamedArray): Promise<Record<string, NamedArray>> {
  const feeds = { [inputName]: new ort.Tensor('float32', input.data as Float32Array, input.shape) };
  const result = await session.run(feeds);
  const named: Record<string, NamedArray> = {};
  for (const [name, t] of Object.entries(result)) {
    named[name] = { data: t.data as Float32Array | Int32Array, shape: t.dims.map(Number) };
  }
  return named;
}

export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`length ${a.length} vs ${b.length}`);
  let max = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i] - b[i]);
    if (!(d <= max)) max = Number.isNaN(d) ? Infinity : d;
  }
  return max;
}

/** Deterministic uniform values in [lo, hi). */
export function seededUniform(n: number, seed: number, lo = 0, hi = 1): Float32Array {
  let s = seed >>> 0;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = lo + (s / 2 ** 32) * (hi - lo);
  }
  return out;
}

export interface PhotoInput {
  width: number;
  height: number;
  colour: 'RGB' | 'BGR';
  mean: readonly number[];
  std: readonly number[];
  layout: 'NCHW' | 'NHWC';
}

/** A photo letterboxed (black bars) to the input size and normalised, as the agent feeds it. */
export async function photoTensor(path: string, spec: PhotoInput): Promise<NamedArray> {
  const { data } = await sharp(path)
    .removeAlpha()
    .resize(spec.width, spec.height, { fit: 'contain', background: { r: 0, g: 0, b: 0 } })
    .raw()
    .toBuffer({ resolveWithObject: true });
  const plane = spec.width * spec.height;
  const out = new Float32Array(plane * 3);
  for (let p = 0; p < plane; p++) {
    for (let c = 0; c < 3; c++) {
      const source = spec.colour === 'BGR' ? 2 - c : c;
      const v = (data[p * 3 + source] - spec.mean[c]) / spec.std[c];
      if (spec.layout === 'NCHW') out[c * plane + p] = v;
      else out[p * 3 + c] = v;
    }
  }
  const shape = spec.layout === 'NCHW' ? [1, 3, spec.height, spec.width] : [1, spec.height, spec.width, 3];
  return { data: out, shape };
}

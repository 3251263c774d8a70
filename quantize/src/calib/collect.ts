// Runs the FP32 model on calibration inputs and feeds the activations we plan to quantize to a
// calibrator. The activations are made visible by a copy of the model that lists them as extra
// graph outputs; each run's tensors are observed and dropped before the next input is read.
import ort from 'onnxruntime-node';
import type { ModelProto } from '@kestrel/core/onnx/io';
import { encodeModel, decodeModel } from '@kestrel/core/onnx/io';
import { KestrelError } from '@kestrel/core/util/errors';
import { valueInfo } from '@kestrel/core/onnx/build';
import { DataType } from '@kestrel/core/onnx/tensors';
import type { Calibrator } from './calibrators.js';

/** One model input per name, NCHW float32. */
export type TensorFeed = Record<string, { data: Float32Array; dims: readonly number[] }>;

export interface CollectOptions {
  threads?: number;
  onSample?: (done: number) => void;
}

export interface CollectResult {
  samples: number;
  /** Planned tensors that came back as something other than float32 (they stay unquantized). */
  nonFloat: string[];
}

/** A copy of the model whose graph outputs also include `tensors`. */
export function withExtraOutputs(model: ModelProto, tensors: readonly string[]): ModelProto {
  const copy = decodeModel(encodeModel(model));
  const existing = new Set((copy.graph!.output ?? []).map((o) => o.name ?? ''));
  const extra = tensors.filter((t) => !existing.has(t)).map((t) => valueInfo(t, DataType.FLOAT));
  copy.graph!.output = [...(copy.graph!.output ?? []), ...extra] as NonNullable<ModelProto['graph']>['output'];
  return copy;
}

export async function collectActivations(
  model: ModelProto,
  tensors: readonly string[],
  feeds: AsyncIterable<TensorFeed> | Iterable<TensorFeed>,
  calibrator: Calibrator,
  options: CollectOptions = {},
): Promise<CollectResult> {
  const calibrationModel = withExtraOutputs(model, tensors);
  let session: ort.InferenceSession;
  try {
    session = await ort.InferenceSession.create(encodeModel(calibrationModel), {
      // Basic optimisations only: fusions must not swallow the tensors we asked to see.
      graphOptimizationLevel: 'basic',
      ...(options.threads ? { intraOpNumThreads: options.threads, interOpNumThreads: 1 } : {}),
      extra: { session: { intra_op: { allow_spinning: '0' } } },
      logSeverityLevel: 3,
    });
  } catch (err) {
    throw new KestrelError('E_QUANT_CALIBRATE', `ONNX Runtime cannot run the calibration copy of the model: ${(err as Error).message.split('\n')[0]}`);
  }
  const nonFloat = new Set<string>();
  let samples = 0;
  try {
    for await (const feed of feeds) {
      const inputs: Record<string, ort.Tensor> = {};
      for (const [name, t] of Object.entries(feed)) inputs[name] = new ort.Tensor('float32', t.data, [...t.dims]);
      let result: ort.InferenceSession.OnnxValueMapType;
      try {
        result = await session.run(inputs, [...tensors]);
      } catch (err) {
        throw new KestrelError('E_QUANT_CALIBRATE', `the model failed on calibration sample ${samples + 1}: ${(err as Error).message.split('\n')[0]}`);
      }
      for (const name of tensors) {
        const value = result[name];
        if (!value || value.type !== 'float32') {
          nonFloat.add(name);
          continue;
        }
        calibrator.observe(name, value.data as Float32Array);
      }
      samples++;
      options.onSample?.(samples);
    }
  } finally {
    await session.release();
  }
  return { samples, nonFloat: [...nonFloat] };
}

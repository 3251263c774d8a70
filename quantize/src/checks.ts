// Checks made before any work: bad options, an output path that cannot be written, models that
// cannot or should not be quantized. Each failure is a KestrelError saying what to do.
import { stat } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import type { ModelProto } from '@kestrel/core/onnx/io';
import { readMetadata, type KestrelMetadata } from '@kestrel/core/model/metadata';
import { KestrelError, isKestrelError } from '@kestrel/core/util/errors';
import { quantizedNodes } from './graph/graph.js';
import { defaultOpset } from './graph/nodes.js';

export function checkChoice<T extends string>(value: string, choices: readonly T[], flag: string): T {
  if (!(choices as readonly string[]).includes(value)) {
    throw new KestrelError('E_QUANT_OPTION', `${flag} ${value} is not one of ${choices.join(', ')}`);
  }
  return value as T;
}

/** Fail before any work if the output cannot be written, or would overwrite the input. */
export async function checkOutputPath(input: string, output: string): Promise<void> {
  if (!output) throw new KestrelError('E_QUANT_OPTION', 'give the output model path with -o <out.onnx>');
  if (resolve(input) === resolve(output)) {
    throw new KestrelError('E_QUANT_OPTION', `-o ${output} is the input model; write the INT8 model to a new file`);
  }
  const dir = dirname(resolve(output));
  const info = await stat(dir).catch(() => undefined);
  if (!info?.isDirectory()) throw new KestrelError('E_OUTPUT_DIR', `output folder ${dir} does not exist`);
}

export function rejectQuantized(model: ModelProto, source: string): void {
  const found = quantizedNodes(model);
  if (found.length > 0) {
    const ops = [...new Set(found.map((n) => n.opType))].join(', ');
    throw new KestrelError('E_ALREADY_QUANTIZED', `${source} is already quantized (${found.length} ${ops} nodes); quantize the FP32 model it came from`);
  }
}

export function rejectOldOpset(model: ModelProto, source: string): void {
  const opset = defaultOpset(model);
  if (opset >= 13) return;
  // Per-channel DequantizeLinear needs opset 13, and raising the version changes the meaning of
  // ops whose attributes became inputs (or whose axis semantics changed) on the way there.
  const changedAt13 = new Set(['Split', 'Squeeze', 'Unsqueeze', 'ReduceSum', 'Softmax', 'LogSoftmax', 'Hardmax']);
  const blocking = opset < 11 ? [] : (model.graph?.node ?? []).filter((n) => changedAt13.has(n.opType ?? '')).map((n) => n.opType);
  if (opset < 11 || blocking.length > 0) {
    const why = opset < 11 ? 'an opset this old' : [...new Set(blocking)].join(', ');
    throw new KestrelError('E_MODEL_OPSET', `${source} uses opset ${opset} with ${why}; INT8 QDQ needs opset 13: re-export the model at opset 13 or later`);
  }
}

export function tryMetadata(model: ModelProto, overrides: Partial<KestrelMetadata> | undefined, source: string): KestrelMetadata | undefined {
  try {
    return readMetadata(model, overrides, source);
  } catch (err) {
    if (isKestrelError(err) && err.code === 'E_MODEL_METADATA') return undefined;
    throw err;
  }
}

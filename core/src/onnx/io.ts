import { readFile, writeFile, rename, unlink } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { dirname, basename, join } from 'node:path';
import { onnx } from './proto.js';
import type { OnnxTypes } from './proto.js';
import { KestrelError } from '../util/errors.js';

export type ModelProto = OnnxTypes.ModelProto;

/** Parses ONNX bytes; a file that is not an ONNX model gets an error that says so. */
export function decodeModel(bytes: Uint8Array, source = 'model'): ModelProto {
  let model: ModelProto;
  try {
    model = onnx.ModelProto.decode(bytes);
  } catch (err) {
    throw new KestrelError('E_MODEL_NOT_ONNX', `${source} is not an ONNX model (${(err as Error).message})`);
  }
  // Protobuf happily decodes many random byte strings into an empty message: demand a graph.
  if (!model.graph || (model.graph.node?.length ?? 0) === 0) {
    throw new KestrelError('E_MODEL_NOT_ONNX', `${source} is not an ONNX model (no graph nodes)`);
  }
  return model;
}

export async function readModel(path: string): Promise<ModelProto> {
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch (err) {
    throw new KestrelError('E_MODEL_MISSING', `cannot read model ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  return decodeModel(bytes, path);
}

export function readModelSync(path: string): ModelProto {
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch (err) {
    throw new KestrelError('E_MODEL_MISSING', `cannot read model ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  return decodeModel(bytes, path);
}

export function encodeModel(model: ModelProto): Uint8Array {
  return onnx.ModelProto.encode(model).finish();
}

/**
 * Writes a file atomically: a temporary sibling, then rename, so a crash or a failed
 * conversion never leaves a half-written model at the output path.
 */
export async function writeFileAtomic(path: string, bytes: Uint8Array): Promise<void> {
  const tmp = join(dirname(path), `.${basename(path)}.${process.pid}.${Date.now()}.tmp`);
  try {
    await writeFile(tmp, bytes);
    await rename(tmp, path);
  } catch (err) {
    await unlink(tmp).catch(() => undefined);
    throw err;
  }
}

export async function writeModel(model: ModelProto, path: string): Promise<void> {
  await writeFileAtomic(path, encodeModel(model));
}

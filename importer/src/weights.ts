// Weight shards → host tensors. Every value is read through a DataView: TF.js packs weights back
// to back, so after an odd-length float16 weight the next int32/float32 weight starts at an
// offset that is not a multiple of 4 and a typed-array view over it would throw.
import { readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { KestrelError } from '@kestrel/core/util/errors';
import type { WeightGroup, WeightSpec } from './model-json.js';
import { halfToFloat } from './float16.js';
import { hostTensor, sizeOf, type HostTensor } from './tensor.js';

const STORED_BYTES: Record<string, number> = { float32: 4, int32: 4, bool: 1, uint8: 1, uint16: 2, float16: 2 };

function weightsError(message: string, path: string): KestrelError {
  return new KestrelError('E_IMPORT_WEIGHTS', message, { path });
}

/** Bytes one weight occupies in its shard. */
export function storedByteLength(spec: WeightSpec): number {
  const stored = spec.quantization?.dtype ?? spec.dtype;
  const width = STORED_BYTES[stored];
  if (width === undefined) {
    throw weightsError(`weight ${spec.name} has dtype ${stored}, which the importer cannot read (float32, int32, bool, or uint8/uint16/float16 quantized)`, spec.name);
  }
  return sizeOf(spec.shape) * width;
}

/** Decodes one weight from `view` at `offset`, dequantizing to its original dtype. */
export function decodeWeight(spec: WeightSpec, view: DataView, offset: number): HostTensor {
  const n = sizeOf(spec.shape);
  const q = spec.quantization;
  if (q) {
    if (q.dtype === 'float16') {
      if (spec.dtype !== 'float32') throw weightsError(`weight ${spec.name}: float16 quantization of a ${spec.dtype} weight is not valid`, spec.name);
      const out = new Float32Array(n);
      for (let i = 0; i < n; i++) out[i] = halfToFloat(view.getUint16(offset + i * 2, true));
      return hostTensor('float32', spec.shape, out);
    }
    if (q.dtype === 'uint8' || q.dtype === 'uint16') {
      if (typeof q.scale !== 'number' || typeof q.min !== 'number') {
        throw weightsError(`weight ${spec.name}: ${q.dtype} quantization needs scale and min in the manifest`, spec.name);
      }
      const read = q.dtype === 'uint8' ? (i: number) => view.getUint8(offset + i) : (i: number) => view.getUint16(offset + i * 2, true);
      if (spec.dtype === 'int32') {
        const out = new Int32Array(n);
        for (let i = 0; i < n; i++) out[i] = Math.round(read(i) * q.scale + q.min);
        return hostTensor('int32', spec.shape, out);
      }
      const out = new Float32Array(n);
      for (let i = 0; i < n; i++) out[i] = read(i) * q.scale + q.min;
      return hostTensor('float32', spec.shape, out);
    }
    throw weightsError(`weight ${spec.name} uses unknown quantization ${String(q.dtype)}`, spec.name);
  }
  switch (spec.dtype) {
    case 'float32': {
      const out = new Float32Array(n);
      for (let i = 0; i < n; i++) out[i] = view.getFloat32(offset + i * 4, true);
      return hostTensor('float32', spec.shape, out);
    }
    case 'int32': {
      const out = new Int32Array(n);
      for (let i = 0; i < n; i++) out[i] = view.getInt32(offset + i * 4, true);
      return hostTensor('int32', spec.shape, out);
    }
    case 'bool': {
      const out = new Uint8Array(n);
      for (let i = 0; i < n; i++) out[i] = view.getUint8(offset + i) ? 1 : 0;
      return hostTensor('bool', spec.shape, out);
    }
    default:
      throw weightsError(`weight ${spec.name} has dtype ${spec.dtype}, which the importer cannot read`, spec.name);
  }
}

async function readShard(file: string, modelJsonPath: string): Promise<Buffer> {
  try {
    return await readFile(file);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
    throw weightsError(`cannot read weight file ${file} (listed in ${modelJsonPath}): ${code}`, file);
  }
}

/**
 * Reads every weight group of the manifest. Shard paths are relative to model.json; a group's
 * shards are concatenated in order and must hold exactly the bytes its weights need.
 */
export async function loadWeights(modelJsonPath: string, manifest: readonly WeightGroup[]): Promise<Map<string, HostTensor>> {
  const dir = dirname(modelJsonPath);
  const weights = new Map<string, HostTensor>();
  for (const group of manifest) {
    const files = group.paths.map((p) => resolve(dir, p));
    const shards = await Promise.all(files.map((f) => readShard(f, modelJsonPath)));
    const bytes = shards.length === 1 ? shards[0] : Buffer.concat(shards);
    const needed = group.weights.reduce((sum, spec) => sum + storedByteLength(spec), 0);
    if (bytes.length !== needed) {
      throw weightsError(
        `weight file${files.length > 1 ? 's' : ''} ${files.join(', ')} hold${files.length > 1 ? '' : 's'} ${bytes.length} bytes but ${modelJsonPath} describes ${needed}: the file is truncated, corrupt or belongs to another model`,
        files[0] ?? modelJsonPath,
      );
    }
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    let offset = 0;
    for (const spec of group.weights) {
      weights.set(spec.name, decodeWeight(spec, view, offset));
      offset += storedByteLength(spec);
    }
  }
  return weights;
}

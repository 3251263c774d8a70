import { KestrelError } from '../../util/errors.js';
import type { KestrelMetadata } from '../../model/metadata.js';
import type { OutputShapes } from './types.js';

export function describeShapes(shapes: OutputShapes): string {
  return Object.entries(shapes)
    .map(([name, dims]) => `${name}[${dims.join(',')}]`)
    .join(', ');
}

export function outputsError(decoder: string, shapes: OutputShapes, why: string): KestrelError {
  return new KestrelError('E_MODEL_OUTPUTS', `model outputs ${describeShapes(shapes)} do not match the ${decoder} decoder: ${why}`);
}

/** Cells per stride for the model's input size, in the order the strides are listed. */
export function gridSizes(meta: KestrelMetadata, strides: readonly number[]): { stride: number; cols: number; rows: number }[] {
  return strides.map((stride) => ({ stride, cols: Math.ceil(meta.input.width / stride), rows: Math.ceil(meta.input.height / stride) }));
}

// Every TF op the importer converts, by family.
import { CONV_OPS } from './conv.js';
import { ELEMENTWISE_OPS } from './elementwise.js';
import { POOL_OPS } from './pool.js';
import { REDUCE_OPS } from './reduce.js';
import { RESIZE_OPS } from './resize.js';
import { SHAPE_OPS } from './shape.js';
import { SLICE_OPS } from './slice.js';
import type { OpConverter } from './types.js';
import { FOLD_ONLY_OPS } from '../fold.js';

export type { OpConverter } from './types.js';

export const OP_CONVERTERS: ReadonlyMap<string, OpConverter> = new Map(
  Object.entries({ ...CONV_OPS, ...POOL_OPS, ...ELEMENTWISE_OPS, ...SHAPE_OPS, ...SLICE_OPS, ...RESIZE_OPS, ...REDUCE_OPS }),
);

/** Ops handled by the graph walker itself rather than a converter. */
export const GRAPH_OPS: readonly string[] = ['Const', 'Placeholder'];

export function supportedOps(): string[] {
  return [...GRAPH_OPS, ...FOLD_ONLY_OPS, ...OP_CONVERTERS.keys()].sort();
}

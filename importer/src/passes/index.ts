import type { OnnxGraph } from '../ir/graph.js';
import { fuseConvBias } from './fuse-conv-bias.js';
import { fusePadIntoConvPool } from './fuse-pad.js';
import { prune } from './prune.js';

export interface CleanupReport {
  biasesFused: number;
  padsFused: number;
  nodesPruned: number;
}

/** The clean-up run after conversion, in order: fusions first, then what they left unused. */
export function cleanUpGraph(graph: OnnxGraph): CleanupReport {
  const biasesFused = fuseConvBias(graph);
  const padsFused = fusePadIntoConvPool(graph);
  const nodesPruned = prune(graph);
  return { biasesFused, padsFused, nodesPruned };
}

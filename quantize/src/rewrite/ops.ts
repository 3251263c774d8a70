// How each ONNX op takes part in a QDQ graph, from ONNX Runtime's point of view: which ops it
// turns into integer kernels when it finds DequantizeLinear → op → QuantizeLinear, and which
// only move bytes (so their output must reuse their input's scale for the Q/DQ to drop).
import type { NodeProto } from '../graph/nodes.js';
import { attrString } from '../graph/nodes.js';

export type OpRole =
  /** Weighted op: int8 weights, int32 bias; becomes QLinearConv / QLinearMatMul. */
  | 'compute'
  /** Integer kernel with its own output scale (QLinearLeakyRelu, QLinearAdd, ...). */
  | 'own-scale'
  /** Moves or selects values: output shares the input's scale (uint8 MaxPool, Reshape, ...). */
  | 'same-scale'
  /** All inputs and the output share one scale, so the concat is a plain copy. */
  | 'concat'
  /** Relu/Clip: folded into the preceding QuantizeLinear when its range makes them redundant. */
  | 'clamp'
  | 'float';

const OWN_SCALE = new Set(['LeakyRelu', 'Sigmoid', 'AveragePool', 'GlobalAveragePool', 'Add', 'Mul']);
const SAME_SCALE = new Set(['MaxPool', 'Reshape', 'Transpose', 'Squeeze', 'Unsqueeze', 'Flatten', 'Resize', 'Slice', 'Split', 'Identity']);
/** Ops whose every activation input must be quantized for the op itself to run in integers. */
const MULTI_INPUT = new Set(['Add', 'Mul']);

export function opRole(node: NodeProto): OpRole {
  const op = node.opType ?? '';
  if (op === 'Conv' || op === 'MatMul') return 'compute';
  if (op === 'Concat') return 'concat';
  if (op === 'Relu' || op === 'Clip') return 'clamp';
  if (op === 'Resize' && attrString(node, 'mode', 'nearest') !== 'nearest') {
    // Interpolating in uint8 is slow in ORT and loses accuracy on upsampled features: keep float.
    return 'float';
  }
  if (OWN_SCALE.has(op)) return 'own-scale';
  if (SAME_SCALE.has(op)) return 'same-scale';
  return 'float';
}

/** Indices of a node's inputs that carry data (the rest are shapes, axes, scales, weights). */
export function dataInputIndices(node: NodeProto): number[] {
  const op = node.opType ?? '';
  if (MULTI_INPUT.has(op)) return [0, 1];
  if (op === 'Concat') return (node.input ?? []).map((_, i) => i);
  if (op === 'MatMul') return [0, 1];
  return [0];
}

/** Ops that exist only for layout (no arithmetic): candidates for the decode-tail exception. */
export const LAYOUT_OPS = new Set(['Reshape', 'Transpose', 'Squeeze', 'Unsqueeze', 'Flatten', 'Identity']);

import type { NodeContext, TfValue } from '../context.js';

/** Converts one TF node into ONNX nodes; returns the node's outputs in TF output order. */
export type OpConverter = (ctx: NodeContext) => TfValue[];

export type OpTable = Readonly<Record<string, OpConverter>>;

// Did ONNX Runtime really run the quantized ops in integers? A QDQ model that ORT does not fuse
// runs DequantizeLinear → float Conv → QuantizeLinear, slower than FP32. ORT saves the graph it
// will execute when asked (optimizedModelFilePath); counting its ops answers the question.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import ort from 'onnxruntime-node';
import { decodeModel, type ModelProto } from '@kestrel/core/onnx/io';

export interface FusionReport {
  /** Conv / MatMul nodes meant to run in integers (the ones not excluded). */
  quantizedConvs: number;
  quantizedMatMuls: number;
  /** Integer convolutions / matmuls in ORT's optimised graph. */
  integerConvs: number;
  integerMatMuls: number;
  /** Convolutions ORT still runs in float (the excluded ones, and any that failed to fuse). */
  floatConvs: number;
  /**
   * Convs/MatMuls whose data input and weight both come from DequantizeLinear: what TensorRT
   * needs to build an int8 layer (it does its own fusion, so ORT's count does not apply there).
   */
  qdqWrapped: number;
  /** integer / quantized, over Convs and MatMuls together (1 when nothing was quantized). */
  ratio: number;
  /** Every op type in the optimised graph, with its count. */
  ops: Record<string, number>;
}

const INTEGER_CONVS = new Set(['QLinearConv', 'ConvInteger', 'NhwcQLinearConv']);
const INTEGER_MATMULS = new Set(['QLinearMatMul', 'MatMulInteger', 'MatMulIntegerToFloat', 'DynamicQuantizeMatMul', 'QGemm']);
const FLOAT_CONVS = new Set(['Conv', 'FusedConv', 'NhwcFusedConv']);

/** Op types and counts of the graph ORT actually runs, after its full optimisation. */
export async function optimizedOps(model: string | Uint8Array, threads = 1): Promise<Record<string, number>> {
  const dir = await mkdtemp(join(tmpdir(), 'kestrel-fusion-'));
  const path = join(dir, 'optimized.onnx');
  try {
    const session = await ort.InferenceSession.create(model as Uint8Array, {
      graphOptimizationLevel: 'all',
      optimizedModelFilePath: path,
      intraOpNumThreads: threads,
      interOpNumThreads: 1,
      // ORT warns that a graph saved after layout passes is machine-specific: we only count it.
      logSeverityLevel: 3,
    });
    await session.release();
    const ops: Record<string, number> = {};
    for (const node of decodeModel(await readFile(path), path).graph?.node ?? []) {
      const op = node.opType ?? '';
      ops[op] = (ops[op] ?? 0) + 1;
    }
    return ops;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/**
 * Compares the weighted ops we meant to run in integers (`expected`: the Convs and MatMuls that
 * were not excluded) with the integer ops in ORT's optimised graph.
 */
export async function verifyFusion(model: ModelProto, bytes: Uint8Array, expected: { convs: number; matMuls: number }, threads = 1): Promise<FusionReport> {
  const ops = await optimizedOps(bytes, threads);
  const count = (set: Set<string>) => Object.entries(ops).reduce((s, [op, c]) => s + (set.has(op) ? c : 0), 0);
  const integerConvs = count(INTEGER_CONVS);
  const integerMatMuls = count(INTEGER_MATMULS);
  const planned = expected.convs + expected.matMuls;
  return {
    quantizedConvs: expected.convs,
    quantizedMatMuls: expected.matMuls,
    integerConvs,
    integerMatMuls,
    floatConvs: count(FLOAT_CONVS),
    qdqWrapped: qdqWrapped(model),
    ratio: planned === 0 ? 1 : Math.min(integerConvs + integerMatMuls, planned) / planned,
    ops,
  };
}

function qdqWrapped(model: ModelProto): number {
  const producer = new Map<string, string>();
  for (const n of model.graph?.node ?? []) for (const o of n.output ?? []) producer.set(o, n.opType ?? '');
  const fromDq = (t: string | undefined) => !!t && producer.get(t) === 'DequantizeLinear';
  return (model.graph?.node ?? []).filter((n) => (n.opType === 'Conv' || n.opType === 'MatMul') && fromDq(n.input?.[0]) && fromDq(n.input?.[1])).length;
}

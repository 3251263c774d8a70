// The quantization report for people: a few lines and two small tables on the terminal.
import { basename } from 'node:path';
import { table, type TableOptions } from '@kestrel/core/util/table';
import type { QuantizeResult } from '../quantize.js';

/** Both tables: a name, then figures lined up on the right. */
const FIGURES: TableOptions = { align: ['left', 'right', 'right', 'right'], rule: true };

function megabytes(bytes: number): string {
  return `${(bytes / 1e6).toFixed(2)} MB`;
}

function num(v: number, digits = 4): string {
  return Math.abs(v) >= 1000 ? v.toFixed(0) : v.toPrecision(digits).replace(/\.?0+$/, '');
}

export function formatReport(r: QuantizeResult): string {
  const out: string[] = [];
  out.push(`quantized ${basename(r.input)} -> ${r.output}`);
  const calib = r.calibration.source === 'tensors' ? `${r.calibration.count} input tensors` : `${r.calibration.count} ${r.calibration.source === 'frames' ? 'buffered frames' : 'images'} from ${r.calibration.root}`;
  out.push(`  profile ${r.profile}, ${r.quantization.activations} activations, int8 ${r.perChannel ? 'per-channel' : 'per-tensor'} weights; ${r.method} calibration on ${calib}`);
  const excluded = r.excluded.filter((e) => e.reason !== 'tail');
  if (excluded.length > 0) out.push(`  kept in float: ${excluded.map((e) => `${e.name} (${e.opType}, ${e.reason})`).join(', ')}`);
  const tail = r.excluded.filter((e) => e.reason === 'tail');
  if (tail.length > 0) out.push(`  decode tail in float: ${tail.length} nodes (${[...new Set(tail.map((e) => e.opType))].join(', ')})`);
  const f = r.fusion;
  const planned = f.quantizedConvs + f.quantizedMatMuls;
  if (r.profile === 'tensorrt') {
    out.push(`  ${f.qdqWrapped}/${planned} Conv/MatMul have int8 Q/DQ inputs and weights (TensorRT builds its own int8 layers from them)`);
  } else {
    out.push(`  ONNX Runtime fused ${f.integerConvs + f.integerMatMuls}/${planned} quantized Conv/MatMul into integer kernels (${(f.ratio * 100).toFixed(0)}%)`);
  }
  if (r.summary.foldedClamps.length > 0) out.push(`  folded ${r.summary.foldedClamps.length} Relu/Clip into QuantizeLinear`);
  out.push('');

  const rows: string[][] = [['size', megabytes(r.sizes.fp32Bytes), megabytes(r.sizes.int8Bytes), `${r.sizes.ratio.toFixed(2)}x`]];
  if (r.throughput) {
    const t = r.throughput;
    const [fp32, int8] = t.models;
    const note = `${t.speedup?.toFixed(2)}x faster${t.noisy ? ' (noisy)' : ''}`;
    rows.push([`latency, ${t.threads} thread${t.threads > 1 ? 's' : ''}`, `${fp32.medianMs.toFixed(1)} ms`, `${int8.medianMs.toFixed(1)} ms`, note]);
  }
  out.push(table(['', 'FP32', 'INT8', 'INT8 vs FP32'], rows, FIGURES));
  if (r.throughput) {
    const [fp32, int8] = r.throughput.models;
    out.push(`  (each model alone in its own process, ${r.throughput.rounds} alternating rounds of ${r.throughput.iterations} runs; medians; fastest runs ${fp32.minMs.toFixed(1)} / ${int8.minMs.toFixed(1)} ms)`);
    const cpu = r.throughput.cpu;
    if (cpu.int8DotProduct === false) {
      out.push(`  note: this CPU (${cpu.model}; ${cpu.flags.join(', ') || 'no SIMD flags'}) has no int8 dot-product instructions (VNNI, ARM dotprod):`);
      out.push('  int8 convolutions run at about float speed here; the INT8 model is faster on CPUs that have them');
    }
  }
  out.push('');

  if (r.agreement) {
    const a = r.agreement;
    const map = a.map50 === null ? 'n/a (FP32 found no objects)' : a.map50.toFixed(3);
    out.push(`agreement: mAP@0.5 ${map} of INT8 against FP32 detections on ${a.images} held-out images`);
    const recall = a.recallAtReference === null ? '' : `; INT8 reports ${(a.recallAtReference * 100).toFixed(0)}% of the FP32 objects`;
    out.push(`  FP32 found ${a.fp32Detections} objects, INT8 ${a.int8Detections} (score >= ${a.referenceScore})${recall}`);
    out.push(table(['output', 'max |diff|', 'mean |diff|', 'FP32 max |x|'], a.outputs.map((o) => [o.name, num(o.maxAbs), num(o.meanAbs), num(o.fp32MaxAbs)]), FIGURES));
  }
  for (const s of r.skipped) out.push(`skipped ${s}`);
  return out.join('\n');
}

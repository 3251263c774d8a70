// The table `kestrel prune` prints: one row per sparsity, the original (0) first.
import { table } from '@kestrel/core/util/table';
import type { PruneReport } from './run.js';

export function pruneTable(r: PruneReport): string {
  const f = (v: number | undefined, digits = 3): string => (v === undefined || !Number.isFinite(v) ? '-' : v.toFixed(digits));
  const rows = r.rows.map((row) => [
    row.sparsity === 0 ? '0 (original)' : `${row.sparsity} (${f(row.channelsRemoved * 100, 0)}% ch)`,
    `${f(row.params / 1e3, 1)}k`,
    `${f(row.macs / 1e6, 1)}M`,
    f(row.fp32Ms, 2),
    f(row.int8Ms, 2),
    `${f(row.speedupFp32, 2)}× / ${f(row.speedupInt8, 2)}×`,
    f(row.map50),
    f(row.map50to95),
    f(row.int8Map50),
    f(row.prunedMap50),
  ]);
  const lines = [
    table(['sparsity', 'params', 'MACs', 'FP32 ms', 'INT8 ms', 'speed-up FP32 / INT8', 'mAP@0.5', 'mAP@.5:.95', 'INT8 mAP@0.5', 'mAP@0.5 before fine-tune'], rows, { rule: true, align: ['left', 'right', 'right', 'right', 'right', 'right', 'right', 'right', 'right', 'right'] }),
    `criterion ${r.criterion}, channels kept in multiples of ${r.multiple}, ${r.epochs} fine-tuning epochs; mAP on ${r.split} (${r.images} images); ONNX Runtime CPU, ${r.threads} thread${r.threads === 1 ? '' : 's'}, median ms per image${r.noisy ? ' (noisy: other load disturbed the timing)' : ''}; speed-up against the original at the same precision`,
    `run folder: ${r.runDir}`,
  ];
  return lines.join('\n');
}

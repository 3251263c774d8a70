// FP32 vs INT8 on ONNX Runtime CPU, for the default NanoDet-416 and a plain 10-layer conv stack,
// at 1 and 2 threads, in one run. Each model is timed alone in its own process, FP32 and INT8
// alternating round by round (ARCHITECTURE.md: two sessions in one process distort each other).
//
//   node --conditions=kestrel-source --import tsx bench/quantize.ts [--rounds 3] [--iterations 15] [--json]
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir, cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { writeModel } from '@kestrel/core/onnx/io';
import { BUNDLED_MODEL_PATH } from '@kestrel/core/model/bundled';
import { quantizeModel, benchmarkModels, describeCpu, type BenchmarkResult } from '@kestrel/quantize';
import { convStack, imageLikeFeeds } from '../test/quantize/support/graphs.js';
import { makePhotoSets } from '../test/quantize/support/photos.js';

const { values } = parseArgs({ options: { rounds: { type: 'string', default: '3' }, iterations: { type: 'string', default: '15' }, json: { type: 'boolean', default: false } } });
const rounds = Number(values.rounds);
const iterations = Number(values.iterations);
const log = (line: string) => process.stderr.write(`${line}\n`);

interface Row {
  model: string;
  threads: number;
  fp32Ms: number;
  int8Ms: number;
  speedup: number;
  noisy: boolean;
  fp32RoundsMs: number[];
  int8RoundsMs: number[];
  fp32MinMs: number;
  int8MinMs: number;
  sizeRatio: number;
  fused: string;
  agreement?: number | null;
}

const startLoad = loadavg().map((l) => l.toFixed(2)).join(' ');
const dir = await mkdtemp(join(tmpdir(), 'kestrel-bench-quantize-'));
const photos = await makePhotoSets();
try {
  const cpu = describeCpu();
  log(`machine: ${cpus().length} × ${cpu.model} (${cpu.flags.join(', ')}; int8 dot product: ${cpu.int8DotProduct ?? 'unknown'}); ${rounds} rounds × ${iterations} runs per model per thread count`);

  const stackFp32 = join(dir, 'conv-stack.onnx');
  await writeModel(convStack({ layers: 10, channels: 64, size: 56 }), stackFp32);
  log('quantizing the conv stack ...');
  const stack = await quantizeModel(stackFp32, { output: join(dir, 'conv-stack-int8.onnx'), calibrationData: imageLikeFeeds(8, [1, 64, 56, 56], 1), benchmark: false, threads: 1 });

  log('quantizing NanoDet-416 on crops of the test photographs ...');
  const nano = await quantizeModel(BUNDLED_MODEL_PATH, { output: join(dir, 'nanodet-416-int8.onnx'), calib: photos.calibDir, heldOutImages: photos.heldOut, benchmark: false, threads: 1 });

  const rows: Row[] = [];
  for (const [name, q] of [['nanodet-416', nano], ['conv-stack-10x64@56', stack]] as const) {
    for (const threads of [1, 2]) {
      log(`timing ${name} at ${threads} thread(s) ...`);
      const r: BenchmarkResult = await benchmarkModels(
        [
          { label: 'fp32', path: q.input },
          { label: 'int8', path: q.output },
        ],
        { threads, rounds, iterations },
      );
      rows.push({
        model: name,
        threads,
        fp32Ms: r.models[0].medianMs,
        int8Ms: r.models[1].medianMs,
        speedup: r.speedup!,
        noisy: r.noisy,
        fp32RoundsMs: r.models[0].roundMediansMs,
        int8RoundsMs: r.models[1].roundMediansMs,
        fp32MinMs: r.models[0].minMs,
        int8MinMs: r.models[1].minMs,
        sizeRatio: q.sizes.ratio,
        fused: `${q.fusion.integerConvs}/${q.fusion.quantizedConvs}`,
        ...(q.agreement ? { agreement: q.agreement.map50 } : {}),
      });
    }
  }

  // Other work on the machine is the usual cause of noisy rounds: say how busy it was.
  log(`load average at the end: ${loadavg().map((l) => l.toFixed(2)).join(' ')} (started at ${startLoad})`);
  if (values.json) process.stdout.write(`${JSON.stringify({ cpu, cores: cpus().length, rounds, iterations, loadAverage: loadavg(), rows }, null, 2)}\n`);
  else {
    const header = ['model', 'threads', 'FP32 ms', 'INT8 ms', 'INT8 speedup', 'rounds FP32 / INT8 (ms)', 'fastest FP32 / INT8', 'size', 'fused', 'mAP@0.5 vs FP32'];
    const lines = rows.map((r) => [
      r.model,
      String(r.threads),
      r.fp32Ms.toFixed(1),
      r.int8Ms.toFixed(1),
      `${r.speedup.toFixed(2)}x${r.noisy ? ' (noisy)' : ''}`,
      `${r.fp32RoundsMs.map((v) => v.toFixed(0)).join(',')} / ${r.int8RoundsMs.map((v) => v.toFixed(0)).join(',')}`,
      `${r.fp32MinMs.toFixed(1)} / ${r.int8MinMs.toFixed(1)} (${(r.fp32MinMs / r.int8MinMs).toFixed(2)}x)`,
      `${r.sizeRatio.toFixed(2)}x`,
      r.fused,
      r.agreement === undefined ? '-' : r.agreement === null ? 'n/a' : r.agreement.toFixed(3),
    ]);
    const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i].length)));
    const fmt = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i])).join('  ');
    process.stdout.write(`${[fmt(header), fmt(widths.map((w) => '-'.repeat(w))), ...lines.map(fmt)].join('\n')}\n`);
  }
} finally {
  await rm(dir, { recursive: true, force: true });
  await rm(photos.dir, { recursive: true, force: true });
}

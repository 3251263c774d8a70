// Times one model, alone in this process: started by benchmark.ts, one child per model and
// round, so no other ONNX Runtime session's threads compete for the cores (ARCHITECTURE.md, "Facts measured").
// Argument: JSON ChildRequest. Output: one JSON line { times: number[] } on stdout.
import { readFile } from 'node:fs/promises';
import { performance } from 'node:perf_hooks';
import ort from 'onnxruntime-node';
import { decodeModel } from '@kestrel/core/onnx/io';

export interface ChildRequest {
  path: string;
  threads: number;
  warmup: number;
  /** Keep warming up until this much time has passed too (see benchmark.ts). */
  warmupMs?: number;
  iterations: number;
  allowSpinning: boolean;
  /** Raw little-endian float32 input (else a fixed pseudo-random one). */
  inputFile?: string;
}

async function main(): Promise<void> {
  const req = JSON.parse(process.argv[2] ?? '{}') as ChildRequest;
  const bytes = await readFile(req.path);
  const graph = decodeModel(bytes, req.path).graph!;
  const initializers = new Set((graph.initializer ?? []).map((t) => t.name));
  const input = (graph.input ?? []).find((i) => !initializers.has(i.name))!;
  const dims = (input.type?.tensorType?.shape?.dim ?? []).map((d) => Number(d.dimValue ?? 0) || 1);
  const size = dims.reduce((a, b) => a * b, 1);
  let data: Float32Array;
  if (req.inputFile) {
    const raw = await readFile(req.inputFile);
    data = new Float32Array(raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.byteLength));
    if (data.length !== size) throw new Error(`input file has ${data.length} values, the model wants ${size}`);
  } else {
    data = new Float32Array(size);
    let seed = 12345;
    for (let i = 0; i < size; i++) {
      seed = (seed * 1103515245 + 12345) >>> 0;
      data[i] = seed / 4294967296;
    }
  }
  const session = await ort.InferenceSession.create(bytes, {
    graphOptimizationLevel: 'all',
    intraOpNumThreads: req.threads,
    interOpNumThreads: 1,
    executionMode: 'sequential',
    extra: { session: { intra_op: { allow_spinning: req.allowSpinning ? '1' : '0' } } },
    logSeverityLevel: 3,
  });
  const feeds = { [input.name!]: new ort.Tensor('float32', data, dims) };
  const warmUntil = performance.now() + (req.warmupMs ?? 0);
  for (let i = 0; i < req.warmup || performance.now() < warmUntil; i++) await session.run(feeds);
  const times: number[] = [];
  for (let i = 0; i < req.iterations; i++) {
    const t0 = performance.now();
    await session.run(feeds);
    times.push(performance.now() - t0);
  }
  await session.release();
  process.stdout.write(`${JSON.stringify({ times })}\n`);
}

main().catch((err) => {
  process.stderr.write(`${(err as Error).message}\n`);
  process.exit(1);
});

// FP32 vs INT8 throughput, measured honestly on a small shared machine: each model runs alone
// in its own child process (an idle ORT session in the same process steals a core), and the
// models alternate, round after round, so a burst of load from elsewhere hits both alike.
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { KestrelError } from '@kestrel/core/util/errors';
import type { ChildRequest } from './bench-child.js';
import { describeCpu, type CpuInfo } from './cpu.js';

export interface BenchmarkModel {
  label: string;
  path: string;
}

export interface BenchmarkOptions {
  threads?: number;
  /** Alternating rounds; each round times every model once (default 3). */
  rounds?: number;
  /** Timed runs per model per round (default 30), after `warmup` untimed ones (default 5). */
  iterations?: number;
  warmup?: number;
  /**
   * ...and untimed runs for at least this long (default 1000 ms). Measured here: a fresh process
   * runs the same model 1.6–3× slower for its first ~250 ms (clock ramp on these VMs), so a count
   * of warm-up runs that suits a 100 ms model leaves a 3 ms model timed while still cold.
   */
  warmupMs?: number;
  /** The input tensor to time with (a real preprocessed frame); default fixed pseudo-random. */
  input?: Float32Array;
  /** Let idle ORT threads spin (ORT's default; fastest when the model is alone). Default true. */
  allowSpinning?: boolean;
  onRun?: (done: number, total: number) => void;
}

export interface ModelTiming {
  label: string;
  path: string;
  /** Median over rounds of each round's median latency. */
  medianMs: number;
  roundMediansMs: number[];
  /** Fastest single run: the least disturbed figure when other work shares the cores. */
  minMs: number;
}

export interface BenchmarkResult {
  threads: number;
  rounds: number;
  iterations: number;
  models: ModelTiming[];
  /** With two models: median over rounds of (first model's time / second's). */
  speedup?: number;
  /** Round medians of some model differ by more than 15%: other load disturbed the timing. */
  noisy: boolean;
  cpu: CpuInfo;
}

export async function benchmarkModels(models: readonly BenchmarkModel[], options: BenchmarkOptions = {}): Promise<BenchmarkResult> {
  const threads = options.threads ?? 1;
  const rounds = options.rounds ?? 3;
  const iterations = options.iterations ?? 30;
  const warmup = options.warmup ?? 5;
  const warmupMs = options.warmupMs ?? 1000;
  const dir = options.input ? await mkdtemp(join(tmpdir(), 'kestrel-bench-')) : undefined;
  const inputFile = dir ? join(dir, 'input.f32') : undefined;
  if (inputFile && options.input) await writeFile(inputFile, new Uint8Array(options.input.buffer, options.input.byteOffset, options.input.byteLength));
  const perRound: number[][] = models.map(() => []);
  const fastest: number[] = models.map(() => Infinity);
  try {
    let done = 0;
    for (let r = 0; r < rounds; r++) {
      for (const [i, m] of models.entries()) {
        const times = await timeInChild({ path: m.path, threads, warmup, warmupMs, iterations, allowSpinning: options.allowSpinning ?? true, ...(inputFile ? { inputFile } : {}) });
        perRound[i].push(median(times));
        fastest[i] = Math.min(fastest[i], ...times);
        options.onRun?.(++done, rounds * models.length);
      }
    }
  } finally {
    if (dir) await rm(dir, { recursive: true, force: true });
  }
  const timings = models.map((m, i) => ({ label: m.label, path: m.path, medianMs: median(perRound[i]), roundMediansMs: perRound[i], minMs: fastest[i] }));
  const noisy = perRound.some((rs) => Math.max(...rs) / Math.min(...rs) > 1.15);
  const result: BenchmarkResult = { threads, rounds, iterations, models: timings, noisy, cpu: describeCpu() };
  if (models.length === 2) result.speedup = median(perRound[0].map((t, r) => t / perRound[1][r]));
  return result;
}

export function median(values: readonly number[]): number {
  if (values.length === 0) return NaN;
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

/** The child script beside this module: .ts when running from source (tsx), .js when built. */
function childScript(): string {
  const ext = import.meta.url.endsWith('.ts') ? '.ts' : '.js';
  return fileURLToPath(new URL(`./bench-child${ext}`, import.meta.url));
}

/** Loader flags the child needs to run TypeScript sources the way this process does. */
function loaderArgs(): string[] {
  const out: string[] = [];
  const argv = process.execArgv;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (/^(--import|--require|-r|--loader|--experimental-loader|--conditions|-C)$/.test(a) && i + 1 < argv.length) out.push(a, argv[++i]);
    else if (/^(--import|--require|--loader|--experimental-loader|--conditions)=/.test(a)) out.push(a);
  }
  return out;
}

function timeInChild(req: ChildRequest): Promise<number[]> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...loaderArgs(), childScript(), JSON.stringify(req)], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code !== 0) {
        reject(new KestrelError('E_BENCH', `timing ${req.path} failed: ${err.trim().split('\n').pop() ?? `exit ${code}`}`));
        return;
      }
      try {
        resolve((JSON.parse(out.trim().split('\n').pop() ?? '') as { times: number[] }).times);
      } catch {
        reject(new KestrelError('E_BENCH', `timing ${req.path} printed no result`));
      }
    });
  });
}

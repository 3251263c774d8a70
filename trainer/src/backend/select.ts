// Picks the fastest TensorFlow.js backend that loads on this machine, once per process:
// tfjs-node-gpu → tfjs-node → wasm (with the project's gradient kernels) → cpu.
// tfjs-node cannot be installed on every machine (its install downloads libtensorflow), so it
// is an optional import: users who have it get it, everyone else trains on wasm.
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import type { Logger } from '@kestrel/core/util/log';
import { registerWasmGradientKernels } from './wasm-kernels/register.js';
import { registerFastGradients } from './gradients.js';

export const BACKEND_NAMES = ['tensorflow-gpu', 'tensorflow', 'wasm', 'cpu'] as const;
export type BackendChoice = (typeof BACKEND_NAMES)[number];

export interface BackendInfo {
  /** What was chosen, in the order above. */
  choice: BackendChoice;
  /** tf.getBackend() after the choice ('tensorflow' for both tfjs-node flavours). */
  tfBackend: string;
  /** wasm only: whether the SIMD and threaded binaries loaded. */
  simd?: boolean;
  threads?: boolean;
  /** Why each faster backend was passed over. */
  skipped: Array<{ choice: BackendChoice; reason: string }>;
}

export interface SelectBackendOptions {
  /** Try only these, in this order (default: all, fastest first). `KESTREL_TF_BACKEND` also sets it. */
  prefer?: BackendChoice[];
  logger?: Logger;
}

let selected: Promise<BackendInfo> | undefined;

/** The backend chosen for this process; the first call decides, later calls get the same answer. */
export async function selectBackend(options: SelectBackendOptions = {}): Promise<BackendInfo> {
  selected ??= choose(options).then((info) => {
    options.logger?.info({ backend: info.choice, simd: info.simd, threads: info.threads }, `TensorFlow.js backend: ${describeBackend(info)}`);
    return info;
  });
  const info = await selected;
  // useBackend() (benchmarks, tests) may have switched away since: switch back to the choice.
  if (tf.getBackend() !== info.tfBackend) await tf.setBackend(info.tfBackend);
  return info;
}

export function describeBackend(info: BackendInfo): string {
  if (info.choice !== 'wasm') return info.choice;
  return `wasm (${info.simd ? 'SIMD' : 'no SIMD'}, ${info.threads ? 'threaded' : 'one core per instance'}, Kestrel gradient kernels)`;
}

/** Switches this process to one backend by name (tests and benchmarks compare backends). */
export async function useBackend(choice: BackendChoice): Promise<void> {
  const skipped: BackendInfo['skipped'] = [];
  if (!(await tryBackend(choice, skipped))) throw new Error(`backend ${choice} is not available: ${skipped[0]?.reason ?? 'unknown'}`);
}

async function choose(options: SelectBackendOptions): Promise<BackendInfo> {
  const fromEnv = process.env.KESTREL_TF_BACKEND?.split(',').filter((b): b is BackendChoice => (BACKEND_NAMES as readonly string[]).includes(b));
  const order = options.prefer ?? (fromEnv && fromEnv.length > 0 ? fromEnv : [...BACKEND_NAMES]);
  const skipped: BackendInfo['skipped'] = [];
  for (const choice of order) {
    if (await tryBackend(choice, skipped)) {
      const info: BackendInfo = { choice, tfBackend: tf.getBackend(), skipped };
      if (choice === 'wasm') {
        info.simd = Boolean(tf.env().getBool('WASM_HAS_SIMD_SUPPORT'));
        info.threads = Boolean(tf.env().getBool('WASM_HAS_MULTITHREAD_SUPPORT'));
      }
      return info;
    }
  }
  throw new Error(`no TensorFlow.js backend loaded: ${skipped.map((s) => `${s.choice}: ${s.reason}`).join('; ')}`);
}

async function tryBackend(choice: BackendChoice, skipped: BackendInfo['skipped']): Promise<boolean> {
  try {
    switch (choice) {
      case 'tensorflow-gpu':
      case 'tensorflow': {
        // A variable specifier keeps TypeScript from demanding the optional package's types.
        const pkg = choice === 'tensorflow-gpu' ? '@tensorflow/tfjs-node-gpu' : '@tensorflow/tfjs-node';
        await import(pkg);
        if (!(await tf.setBackend('tensorflow'))) throw new Error('setBackend(tensorflow) failed');
        break;
      }
      case 'wasm': {
        setWasmPaths(wasmBinaryDir());
        // The Emscripten loader installs process-wide handlers that rethrow every uncaught error
        // and print its whole minified source with it; Kestrel has its own error handling.
        const before = { exception: process.listeners('uncaughtException'), rejection: process.listeners('unhandledRejection') };
        const ok = await tf.setBackend('wasm');
        for (const l of process.listeners('uncaughtException')) if (!before.exception.includes(l)) process.removeListener('uncaughtException', l);
        for (const l of process.listeners('unhandledRejection')) if (!before.rejection.includes(l)) process.removeListener('unhandledRejection', l);
        if (!ok) throw new Error('setBackend(wasm) failed');
        registerWasmGradientKernels();
        break;
      }
      case 'cpu':
        if (!(await tf.setBackend('cpu'))) throw new Error('setBackend(cpu) failed');
        break;
    }
    await tf.ready();
    registerFastGradients();
    return true;
  } catch (err) {
    skipped.push({ choice, reason: shortReason(err) });
    return false;
  }
}

/**
 * In Node the wasm backend reads its .wasm files from disk; without a path prefix it would look
 * next to the running script. The SIMD binary loads in Node 20; the threaded one needs workers
 * the Node build does not start, so the backend falls back to single-thread SIMD by itself.
 */
function wasmBinaryDir(): string {
  const require = createRequire(import.meta.url);
  return join(dirname(require.resolve('@tensorflow/tfjs-backend-wasm')), '/');
}

function shortReason(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  if (/Cannot find (package|module)/.test(message)) return 'not installed';
  return message.split('\n')[0];
}

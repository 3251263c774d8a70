import ort from 'onnxruntime-node';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { KestrelError } from '../util/errors.js';
import type { Logger } from '../util/log.js';
import { silentLogger } from '../util/log.js';

import { DEFAULT_PROVIDERS, PROVIDERS, type ProviderName } from './provider-names.js';

export { DEFAULT_PROVIDERS, PROVIDERS, type ProviderName };

export interface SessionOptions {
  /** Tried in order; the first that creates a session wins. */
  providers?: ProviderName[];
  /** Intra-op threads; undefined lets ONNX Runtime choose (all cores). */
  threads?: number;
  /**
   * Idle intra-op threads spin waiting for work by default. On a small device that steals a core
   * from ffmpeg, MQTT and any second session (ARCHITECTURE.md: measured 14 → 20 ms), so Kestrel turns
   * spinning off unless asked.
   */
  allowSpinning?: boolean;
  /** Where to save ONNX Runtime's optimised graph (to see what fused). */
  optimizedModelFilePath?: string;
  /** Directory for TensorRT engine caches, so the second start does not rebuild engines. */
  cacheDir?: string;
  logger?: Logger;
}

export interface CreatedSession {
  session: ort.InferenceSession;
  provider: ProviderName;
  /** Why each provider before the chosen one did not load. */
  skipped: { provider: ProviderName; reason: string }[];
}

export function parseProviders(list: string | readonly string[]): ProviderName[] {
  const items = typeof list === 'string' ? list.split(',').map((s) => s.trim()).filter(Boolean) : [...list];
  for (const p of items) {
    if (!(PROVIDERS as readonly string[]).includes(p)) {
      throw new KestrelError('E_PROVIDER', `unknown execution provider "${p}" (known: ${PROVIDERS.join(', ')})`);
    }
  }
  if (items.length === 0) throw new KestrelError('E_PROVIDER', 'the execution provider list is empty');
  return items as ProviderName[];
}

function providerConfig(name: ProviderName, opts: SessionOptions): ort.InferenceSession.ExecutionProviderConfig {
  switch (name) {
    case 'tensorrt':
      return {
        name: 'tensorrt',
        ...(opts.cacheDir ? { trt_engine_cache_enable: true, trt_engine_cache_path: opts.cacheDir } : {}),
        trt_int8_enable: true,
        trt_fp16_enable: true,
      } as ort.InferenceSession.ExecutionProviderConfig;
    case 'cuda':
      return { name: 'cuda' } as ort.InferenceSession.ExecutionProviderConfig;
    case 'cpu':
      return 'cpu';
  }
}

/** Names of the providers this ONNX Runtime build reports (bundled or installed). */
export function availableProviders(): string[] {
  try {
    return ort.listSupportedBackends().map((b) => b.name);
  } catch {
    return ['cpu'];
  }
}

/** The shared libraries a GPU provider needs next to ONNX Runtime's binding. */
const PROVIDER_LIBRARIES: Partial<Record<ProviderName, string[]>> = {
  cuda: ['libonnxruntime_providers_shared.so', 'libonnxruntime_providers_cuda.so'],
  tensorrt: ['libonnxruntime_providers_shared.so', 'libonnxruntime_providers_tensorrt.so'],
};

function bindingDir(): string | undefined {
  try {
    const pkg = createRequire(import.meta.url).resolve('onnxruntime-node/package.json');
    return join(dirname(pkg), 'bin', 'napi-v6', process.platform, process.arch);
  } catch {
    return undefined;
  }
}

/**
 * Why a GPU provider cannot load here, without trying: its provider libraries are installed by
 * onnxruntime-node's optional download (skipped on machines without CUDA), and trying without
 * them makes ONNX Runtime print errors to the console.
 */
export function providerUnavailableReason(provider: ProviderName): string | undefined {
  const libs = PROVIDER_LIBRARIES[provider];
  if (!libs) return undefined;
  const dir = bindingDir();
  if (!dir) return undefined;
  const missing = libs.filter((lib) => !existsSync(join(dir, lib)));
  return missing.length ? `provider library not installed (${missing.join(', ')})` : undefined;
}

/**
 * Creates a session on the first provider of the chain that loads. A GPU provider whose
 * libraries are absent fails at creation, so trying is the reliable test; the reasons are kept
 * for the state report.
 */
export async function createSession(model: string | Uint8Array, opts: SessionOptions = {}): Promise<CreatedSession> {
  const logger = opts.logger ?? silentLogger;
  const chain = opts.providers ?? DEFAULT_PROVIDERS;
  const supported = availableProviders();
  const skipped: CreatedSession['skipped'] = [];
  for (const provider of chain) {
    if (provider !== 'cpu' && !supported.includes(provider)) {
      skipped.push({ provider, reason: 'not in this ONNX Runtime build' });
      continue;
    }
    const unavailable = providerUnavailableReason(provider);
    if (unavailable) {
      skipped.push({ provider, reason: unavailable });
      continue;
    }
    const options: ort.InferenceSession.SessionOptions = {
      executionProviders: [providerConfig(provider, opts)],
      graphOptimizationLevel: 'all',
      // Warnings only: a provider that fails to load is reported by us, once, not by ORT's logger.
      logSeverityLevel: provider === 'cpu' ? 2 : 3,
      ...(opts.threads ? { intraOpNumThreads: opts.threads, interOpNumThreads: 1 } : {}),
      ...(opts.optimizedModelFilePath ? { optimizedModelFilePath: opts.optimizedModelFilePath } : {}),
      extra: { session: { intra_op: { allow_spinning: opts.allowSpinning ? '1' : '0' } } },
    };
    try {
      const session = typeof model === 'string' ? await ort.InferenceSession.create(model, options) : await ort.InferenceSession.create(model, options);
      if (skipped.length > 0) logger.info({ provider, skipped }, 'execution provider fallback');
      return { session, provider, skipped };
    } catch (err) {
      const reason = (err as Error).message.split('\n')[0];
      skipped.push({ provider, reason });
      logger.debug({ provider, reason }, 'execution provider did not load');
      if (provider === 'cpu' || chain[chain.length - 1] === provider) {
        throw new KestrelError('E_MODEL_LOAD', `ONNX Runtime could not load the model on ${provider}: ${reason}`, { skipped });
      }
    }
  }
  throw new KestrelError('E_PROVIDER', `no execution provider in [${chain.join(', ')}] is available (${skipped.map((s) => `${s.provider}: ${s.reason}`).join('; ')})`, { skipped });
}

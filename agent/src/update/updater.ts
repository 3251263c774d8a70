import { existsSync } from 'node:fs';
import { basename, join } from 'node:path';
import {
  checkManifest, manifestSignatures, isKestrelError, KestrelError, outgoing, parsePayload, subscription, topics,
  type DeviceTopics, type Logger, type OutgoingMessage, type Subscription, type ModelRef, type ModelState, type ModelUpdateStatus, type ReleaseManifest, type TrustedKeyInput, type TrustedKeys,
} from '@kestrel/core';
import type { LoadOptions, ModelInfo } from '../inference/protocol.js';
import type { Frame } from '../source/types.js';
import { downloadArtifact } from './download.js';
import { ModelFolder } from './model-folder.js';
import { KeyTrust } from './key-trust.js';
import { DEFAULT_HEALTH_POLICY, judge, type HealthPolicy, type VerdictCode } from './health-watch.js';
import { difference, type InferenceTotals } from './inference-counters.js';
import { smokeTest } from './smoke-test.js';
import { UpdateStateStore, type InstalledModel, type UpdateState } from './state-store.js';

/** The running engine, as the updater needs it (InferenceEngine fits). */
export interface SwappableEngine {
  readonly info?: ModelInfo;
  /** Crash/hang restarts so far: one during the watch means the new model is bad. */
  readonly restarts: number;
  /** Loads a model into the serving worker; the old one serves until the new one is ready. */
  load(path: string): Promise<ModelInfo>;
}

/** The MQTT side: a subscription to model/set and the retained model/state (MqttUpdateChannel). */
export interface UpdateChannel {
  subscribe(subscription: Subscription, onMessage: (payload: Buffer) => void): Promise<void>;
  publish(message: OutgoingMessage<'modelState'>): Promise<void> | void;
}

export interface ModelUpdaterOptions {
  deviceId: string;
  prefix: string;
  stateDir: string;
  /** The model path from the agent config (the model the device had before any update). */
  configuredModelPath: string;
  trustedKeys: readonly TrustedKeyInput[];
  /** How many distinct trusted keys must sign a manifest (k of n); default 1. */
  threshold?: number;
  agentVersion: string;
  engine: SwappableEngine;
  channel: UpdateChannel;
  /** Recent camera frames at the model input size, for the smoke test. */
  recentFrames: () => Frame[];
  /** Per-camera inference totals since start (InferenceCounters.totals). */
  counters: () => InferenceTotals;
  /** Load options of the running model, reused for the trial session. */
  load: LoadOptions;
  smoke?: { loadTimeoutMs?: number; frameBudgetMs?: number; maxFrames?: number };
  health?: Partial<HealthPolicy>;
  download?: { deadlineMs?: number; idleTimeoutMs?: number; headers?: Record<string, string> };
  /** How often the health watch samples the counters. */
  checkIntervalMs?: number;
  now?: () => number;
  logger: Logger;
}

export interface UpdaterStats {
  received: number;
  applied: number;
  rejected: number;
  failed: number;
  rolledBack: number;
  /** Manifests replaced by a newer one while an update ran (latest wins). */
  superseded: number;
  keyRotations: number;
  keySetsRefused: number;
}


/**
 * The device side of fleet updates. For each signed manifest on `<prefix>/<device>/model/set`:
 * check it (signature, key, expiry, sequence, downgrade, agent version), download the artifact
 * with resume and verify size and hash, try it in a second session on recent frames, swap it into
 * the serving worker between frames, then watch live health and roll back by itself when the
 * new model fails, slows down or stops seeing what the previous one saw. Every step is reported
 * on the retained `model/state`. One update runs at a time; the newest waiting manifest wins.
 */
export class ModelUpdater {
  private readonly store: UpdateStateStore;
  private readonly models: ModelFolder;
  private readonly keys: KeyTrust;
  private readonly policy: HealthPolicy;
  private readonly topics: DeviceTopics;
  private state: UpdateState = { lastSequence: 0 };
  private busy = false;
  /** The sequence of the manifest being applied now. */
  private applying?: number;
  private waiting?: ReleaseManifest;
  private idle: Promise<void> = Promise.resolve();
  private history: { at: number; totals: InferenceTotals }[] = [];
  private sampler?: NodeJS.Timeout;
  private watchAbort?: AbortController;
  private stopped = false;
  /** Refusals of this process by signature: a redelivered manifest gets the same answer without a new download. */
  private readonly refused = new Map<string, { status: ModelUpdateStatus; reason: string }>();
  private last?: ModelState;
  readonly stats: UpdaterStats = { received: 0, applied: 0, rejected: 0, failed: 0, rolledBack: 0, superseded: 0, keyRotations: 0, keySetsRefused: 0 };

  constructor(private readonly options: ModelUpdaterOptions) {
    this.store = new UpdateStateStore(join(options.stateDir, 'update', 'state.json'));
    this.models = new ModelFolder(options.stateDir);
    this.keys = new KeyTrust(options.trustedKeys, options.threshold);
    this.policy = { ...DEFAULT_HEALTH_POLICY, ...options.health };
    this.topics = topics(options.prefix, options.deviceId);
  }

  /**
   * The model the agent should load at start: the last one an update installed, unless the
   * config names another model since (the operator's word wins), or the agent stopped during a
   * watch (it may have died of the new model: the previous one is the safe choice).
   */
  static startupModel(stateDir: string, configuredModelPath: string): string {
    let state: UpdateState;
    try {
      state = new UpdateStateStore(join(stateDir, 'update', 'state.json')).read();
    } catch {
      return configuredModelPath;
    }
    if (!state.current || state.configuredPath !== configuredModelPath) return configuredModelPath;
    const pick = state.watching ? state.previous : state.current;
    return pick && existsSync(pick.path) ? pick.path : configuredModelPath;
  }

  get current(): ModelRef | null {
    return this.state.current ? ref(this.state.current) : null;
  }

  /** The release keys trusted now (the config's, or the newest rotated set): shadow manifests are checked with them too. */
  get trusted(): TrustedKeys {
    return this.keys.trusted;
  }

  get modelState(): ModelState | undefined {
    return this.last;
  }

  async start(): Promise<void> {
    this.stopped = false;
    this.state = this.store.read();
    const info = this.options.engine.info;
    const running = info ? installedFrom(info) : undefined;
    let status: ModelUpdateStatus = 'idle';
    let reason: string | undefined;
    if (this.state.configuredPath !== undefined && this.state.configuredPath !== this.options.configuredModelPath) {
      // The config names another model now: updates start over from it (replay protection stays).
      this.state = { lastSequence: this.state.lastSequence, configuredPath: this.options.configuredModelPath };
    }
    if (this.state.watching && running && this.state.previous && running.sha256 === this.state.previous.sha256) {
      const bad = this.state.current!;
      reason = `the agent restarted during the watch of ${bad.name} ${bad.version}; back on ${running.name} ${running.version}`;
      this.state = { ...this.state, current: { ...this.state.previous, ...pathOf(running) }, previous: this.state.watching.previousBefore, watching: undefined };
      status = 'rollback';
      this.stats.rolledBack++;
      this.options.logger.warn({ reason }, 'model rolled back');
    } else if (running && this.state.current?.sha256 !== running.sha256) {
      this.state = { ...this.state, current: running, watching: undefined };
    } else if (this.state.watching) {
      this.state = { ...this.state, watching: undefined };
    }
    this.state.configuredPath = this.options.configuredModelPath;
    if (!this.keys.restore(this.state.keys)) {
      this.options.logger.warn({ version: this.state.keys?.set.version }, 'the configured release keys changed: the rotated key set is dropped, the config\'s keys are trusted');
      this.state = { ...this.state, keys: undefined };
    }
    await this.store.write(this.state);
    this.sampleCounters();
    this.sampler = setInterval(() => this.sampleCounters(), this.options.checkIntervalMs ?? 1000);
    this.sampler.unref();
    await this.publish(status, reason);
    await this.options.channel.subscribe(subscription(this.options.prefix, 'keysSet', this.options.deviceId), (payload) => void this.onKeys(payload));
    await this.options.channel.subscribe(subscription(this.options.prefix, 'modelSet', this.options.deviceId), (payload) => this.onMessage(payload));
  }

  /** Stops taking manifests and ends a running watch (the watch is redone from the state file at next start). */
  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.sampler);
    this.watchAbort?.abort();
    this.waiting = undefined;
    await this.idle;
  }

  /** Resolves when no update is running or waiting (tests, shutdown). */
  settled(): Promise<void> {
    return this.idle;
  }

  /** A key rotation on `keys/set`: taken when the keys trusted now (and the new ones) signed it. */
  private async onKeys(payload: Buffer): Promise<void> {
    if (this.stopped) return;
    try {
      const { outcome } = this.keys.accept(payload, this.now());
      if (outcome === 'unchanged') return;
      this.state = { ...this.state, keys: this.keys.stored };
      await this.store.write(this.state);
      this.stats.keyRotations++;
      this.options.logger.info(this.keys.summary(), 'release keys rotated');
    } catch (err) {
      this.stats.keySetsRefused++;
      this.options.logger.warn({ err: (err as Error).message, version: this.keys.version }, 'key set refused; the keys trusted so far stay');
      return;
    }
    await this.publish(this.last?.status ?? 'idle', this.last?.reason);
  }

  private onMessage(payload: Buffer): void {
    if (this.stopped) return;
    this.stats.received++;
    let manifest: ReleaseManifest;
    try {
      manifest = parsePayload('modelSet', payload);
    } catch (err) {
      this.stats.rejected++;
      this.options.logger.warn({ err: (err as Error).message }, 'model manifest refused');
      void this.publish('rejected', (err as Error).message);
      return;
    }
    // A retained manifest comes again on every reconnect: what was acted on is not news.
    if (manifest.sequence === this.state.lastSequence) return;
    if (this.busy) {
      // The manifest being applied, redelivered (the retained message again after a reconnect
      // during a download): not a second update. Taken as one, it was refused as a replay once
      // the first had been applied, and the rollout read that refusal as the device's answer.
      if (manifest.sequence === this.applying) return;
      if (this.waiting) this.stats.superseded++;
      if (!this.waiting || manifest.sequence > this.waiting.sequence) this.waiting = manifest;
      return;
    }
    this.run(manifest);
  }

  private run(first: ReleaseManifest): void {
    this.busy = true;
    this.idle = (async () => {
      let next: ReleaseManifest | undefined = first;
      while (next && !this.stopped) {
        try {
          this.applying = next.sequence;
          await this.apply(next);
        } catch (err) {
          this.stats.failed++;
          this.options.logger.error({ err: (err as Error).message }, 'model update failed');
          await this.publish('failed', (err as Error).message, next.sequence);
        }
        next = this.waiting;
        this.waiting = undefined;
      }
    })().finally(() => {
      this.busy = false;
      this.applying = undefined;
    });
  }

  private async apply(manifest: ReleaseManifest): Promise<void> {
    const log = this.options.logger.child({ release: `${manifest.name}@${manifest.version}`, sequence: manifest.sequence });
    const memo = this.refused.get(manifestId(manifest));
    if (memo) return void (await this.publish(memo.status, memo.reason, manifest.sequence));
    const refuse = async (status: 'rejected' | 'failed', reason: string) => {
      if (status === 'rejected') this.stats.rejected++;
      else this.stats.failed++;
      if (this.refused.size > 64) this.refused.clear();
      this.refused.set(manifestId(manifest), { status, reason });
      await this.models.removeRefused(manifest.sha256, [this.state.current?.path, this.state.previous?.path]);
      log.warn({ reason }, status === 'rejected' ? 'model update refused' : 'model update failed');
      await this.publish(status, reason, manifest.sequence);
    };
    try {
      checkManifest(manifest, {
        trusted: this.keys.trusted,
        now: this.now(),
        lastSequence: this.state.lastSequence,
        currentRelease: this.state.current?.release,
        agentVersion: this.options.agentVersion,
      });
    } catch (err) {
      // Not memoised: a manifest is refused for what it is, whatever arrives again. Its claims
      // (sequence, version) are not verified, so model/state keeps the sequence last acted on.
      this.stats.rejected++;
      log.warn({ reason: (err as Error).message }, 'model manifest refused');
      return void (await this.publish('rejected', (err as Error).message));
    }

    // 1. The artifact, verified before anything loads it (a local copy with the right hash will do).
    const path = this.models.pathOf(manifest.sha256);
    let haveLocal: boolean;
    try {
      haveLocal = await this.models.localCopy(manifest, [this.state.previous?.path, this.state.current?.path]);
    } catch (err) {
      if (isKestrelError(err) && err.code === 'E_ARTIFACT_SIZE') return refuse('rejected', err.message);
      throw err;
    }
    if (!haveLocal) {
      await this.publish('downloading', undefined, manifest.sequence);
      try {
        const result = await downloadArtifact({
          url: manifest.url, dest: path, size: manifest.size, sha256: manifest.sha256,
          deadlineMs: this.options.download?.deadlineMs, idleTimeoutMs: this.options.download?.idleTimeoutMs,
          headers: this.options.download?.headers, logger: log,
        });
        log.info({ resumedFrom: result.resumedFrom, attempts: result.attempts }, 'artifact downloaded and verified');
      } catch (err) {
        const code = isKestrelError(err) ? err.code : '';
        return refuse(code === 'E_ARTIFACT_HASH' || code === 'E_ARTIFACT_SIZE' ? 'rejected' : 'failed', (err as Error).message);
      }
    }

    // 2. A second session on recent frames, while the running model serves the cameras.
    await this.publish('testing', undefined, manifest.sequence);
    const frames = this.options.recentFrames();
    try {
      const result = await smokeTest(path, frames, {
        load: this.options.load,
        loadTimeoutMs: this.options.smoke?.loadTimeoutMs ?? 120_000,
        frameBudgetMs: this.options.smoke?.frameBudgetMs ?? 2000,
        maxFrames: this.options.smoke?.maxFrames ?? 3,
        logger: log,
      });
      const [w, h] = manifest.metadata.inputSize;
      if (result.info.meta.input.width !== w || result.info.meta.input.height !== h) {
        return refuse('rejected', `the model's input is ${result.info.meta.input.width}x${result.info.meta.input.height}, the signed manifest says ${w}x${h}`);
      }
      log.info({ frames: result.frames, maxInferenceMs: Math.round(result.maxInferenceMs) }, 'smoke test passed');
    } catch (err) {
      return refuse('rejected', (err as Error).message);
    }

    // 3. The swap: the worker finishes the frame in hand on the old session, the next runs on the new.
    const before = this.options.counters();
    const baseline = this.baseline(before);
    const restartsBefore = this.options.engine.restarts;
    try {
      await this.options.engine.load(path);
    } catch (err) {
      return refuse('failed', `the serving worker could not load the model (the previous one still runs): ${(err as Error).message}`);
    }
    const installed: InstalledModel = { name: manifest.name, version: manifest.version, sha256: manifest.sha256, path, release: manifest.release };
    const until = this.now() + this.policy.watchMs;
    this.state = { ...this.state, lastSequence: manifest.sequence, previous: this.state.current, current: installed, watching: { sequence: manifest.sequence, until, previousBefore: this.state.previous } };
    await this.store.write(this.state);
    this.stats.applied++;
    log.info({ watchMs: this.policy.watchMs }, 'model swapped; watching its health');
    await this.publish('applied', undefined, manifest.sequence, { health: 'watching', watchUntil: until });

    // 4. The watch.
    const verdict = await this.watch(before, baseline, restartsBefore, until);
    if (verdict.healthy) {
      this.state = { ...this.state, watching: undefined };
      await this.store.write(this.state);
      await this.publish('applied', undefined, manifest.sequence, { health: 'passed' });
      await this.models.prune([this.state.current?.path, this.state.previous?.path]);
      return;
    }
    if (verdict.stopped) return;
    await this.rollback(verdict.reason!, manifest.sequence, log, verdict.code);
  }

  private async watch(before: InferenceTotals, baseline: InferenceTotals, restartsBefore: number, until: number): Promise<{ healthy: boolean; reason?: string; code?: VerdictCode; stopped?: boolean }> {
    const abort = new AbortController();
    this.watchAbort = abort;
    const interval = this.options.checkIntervalMs ?? 1000;
    for (;;) {
      await new Promise<void>((resolve) => {
        // The listener goes with its tick: one left behind per tick piled up to a MaxListenersExceededWarning.
        const onAbort = () => { clearTimeout(timer); resolve(); };
        const timer = setTimeout(() => { abort.signal.removeEventListener('abort', onAbort); resolve(); }, Math.max(10, Math.min(interval, until - this.now())));
        abort.signal.addEventListener('abort', onAbort, { once: true });
      });
      if (abort.signal.aborted) return { healthy: false, stopped: true };
      const after = difference(this.options.counters(), before);
      const verdict = judge(after, baseline, this.policy, this.options.engine.restarts > restartsBefore);
      if (!verdict.healthy) return { healthy: false, reason: verdict.reason, ...(verdict.code && { code: verdict.code }) };
      if (this.now() >= until) return { healthy: true };
    }
  }

  private async rollback(reason: string, sequence: number, log: Logger, code?: VerdictCode): Promise<void> {
    const bad = this.state.current!;
    const back = this.state.previous;
    if (!back) {
      await this.publish('failed', `${reason}; and there is no previous model to return to`, sequence);
      return;
    }
    try {
      await this.options.engine.load(back.path);
    } catch (err) {
      await this.publish('failed', `${reason}; returning to ${back.name} ${back.version} failed too: ${(err as Error).message}`, sequence);
      return;
    }
    this.state = { ...this.state, current: back, previous: this.state.watching?.previousBefore, watching: undefined };
    await this.store.write(this.state);
    await this.models.prune([this.state.current?.path, this.state.previous?.path]);
    this.stats.rolledBack++;
    const why = `${bad.name} ${bad.version} rolled back to ${back.name} ${back.version}: ${reason}`;
    log.warn({ reason, code }, 'model rolled back');
    await this.publish('rollback', why, sequence, code ? { reasonCode: code } : {});
  }

  /** The previous model's totals over the last watch-length window before the swap. */
  private baseline(now: InferenceTotals): InferenceTotals {
    const from = this.now() - this.policy.watchMs;
    const start = this.history.find((h) => h.at >= from) ?? this.history[0];
    return start ? difference(now, start.totals) : now;
  }

  private sampleCounters(): void {
    const at = this.now();
    this.history.push({ at, totals: this.options.counters() });
    const keepFrom = at - this.policy.watchMs * 2;
    while (this.history.length > 2 && this.history[0].at < keepFrom) this.history.shift();
    if (this.history.length > 10_000) this.history.shift();
  }

  private async publish(status: ModelUpdateStatus, reason?: string, sequence = this.state.lastSequence, extra: Partial<ModelState> = {}): Promise<void> {
    const state: ModelState = {
      schema: 1,
      current: this.state.current ? ref(this.state.current) : null,
      previous: this.state.previous ? ref(this.state.previous) : null,
      status,
      ...(reason !== undefined ? { reason } : {}),
      ...(sequence > 0 ? { sequence } : {}),
      ...(this.state.current?.release !== undefined ? { release: this.state.current.release } : {}),
      trust: this.keys.summary(),
      ...extra,
      updatedAt: this.now(),
    };
    this.last = state;
    try {
      await this.options.channel.publish(outgoing(this.topics, 'modelState', state));
    } catch (err) {
      this.options.logger.warn({ err: (err as Error).message }, 'model state not published');
    }
  }

  private now(): number {
    return (this.options.now ?? Date.now)();
  }
}

/** A manifest's identity for remembering its verdict: its signatures (what was verified). */
function manifestId(manifest: ReleaseManifest): string {
  return manifestSignatures(manifest).map((s) => s.signature).join(',');
}

function ref(m: InstalledModel): ModelRef {
  return { name: m.name, version: m.version, sha256: m.sha256 };
}

function pathOf(info: InstalledModel): { path: string } {
  return { path: info.path };
}

function installedFrom(info: ModelInfo): InstalledModel {
  return { name: info.meta.name ?? basename(info.path).replace(/\.onnx$/, ''), version: info.meta.version ?? '0', sha256: info.sha256, path: info.path };
}

import { randomBytes } from 'node:crypto';
import { KestrelError, outgoing, topics, type Logger, type ReleaseManifest } from '@kestrel/core';
import type { BlobStore } from '../release/ports.js';
import type { ReleaseRecord, ReleaseService } from '../release/release-service.js';
import { FleetView, type DeviceView, type RolloutMqtt } from './fleet-view.js';
import { readRollouts } from './records.js';
import { planWaves, shouldAbort, type AbortRule, type WavePlanOptions } from './plan.js';

export type DeviceOutcome = 'passed' | 'failed' | 'pending';

export interface DeviceResult {
  outcome: DeviceOutcome;
  /** The device's model/state status and reason, as last seen. */
  status?: string;
  reason?: string;
}

export interface RolloutRecord {
  id: string;
  release: string;
  sequence: number;
  startedAt: number;
  finishedAt?: number;
  status: 'running' | 'completed' | 'aborted';
  reason?: string;
  /** Hub-run rollouts also say when each wave's manifest went out and when the wave was judged. */
  waves: { devices: string[]; results: Record<string, DeviceResult>; sentAt?: number; finishedAt?: number }[];
  /** Devices sent a signed rollback when the rollout aborted, by the release they went back to. */
  rolledBack?: Record<string, string>;
  /** Devices in waves never started (the abort stopped the rollout before them). */
  notStarted?: string[];
}

export interface PushOptions extends WavePlanOptions {
  /** Device ids, or `all` for every device the broker knows of (and the hub has a token for). */
  to: string[] | 'all';
  abort: AbortRule;
  /** How long a wave may take to report (download, smoke test, the devices' watch period). */
  waveTimeoutMs: number;
  manifestTtlMs?: number;
}

export interface RolloutControllerDeps {
  mqtt: RolloutMqtt;
  prefix: string;
  releases: ReleaseService;
  blobs: BlobStore;
  logger: Logger;
  /**
   * Devices with an active hub token. Anyone who can publish a retained status can make a device
   * appear on the broker; only these are targets (and only they can download an artifact).
   */
  registeredDevices?: () => Promise<ReadonlySet<string>>;
  now?: () => number;
}

/**
 * Staged rollouts from the hub. The signed manifest is published retained on each target's
 * `model/set`, wave by wave: a device that is offline gets it when it reconnects, and a device
 * ignores a redelivery of a sequence it already acted on. The next wave starts only when every
 * device of the current one reported `applied` with its health watch `passed` (canaries
 * especially); when the abort rule hits, the rollout stops and the devices that took the release
 * get a signed rollback to the release they ran before.
 */
export class RolloutController {
  constructor(private readonly deps: RolloutControllerDeps) {}

  async push(releaseId: string, options: PushOptions): Promise<RolloutRecord> {
    const release = await this.deps.releases.require(releaseId);
    const view = new FleetView(this.deps.mqtt, this.deps.prefix);
    await view.start();
    try {
      const targets = await this.targets(options.to, view);
      if (targets.length === 0) throw new KestrelError('E_ROLLOUT', 'no target devices (no device with a hub token has reported on the broker; name them with --to)');
      const waves = planWaves(targets, options, (d) => view.get(d)?.online === true);
      // What each device ran before: where an abort sends it back.
      const before = new Map(targets.map((d) => [d, view.get(d)?.model?.current?.sha256]));
      const manifest = await this.deps.releases.issueManifest(release, { ttlMs: options.manifestTtlMs });
      const record: RolloutRecord = {
        id: `${new Date(this.now()).toISOString().replace(/[-:.]/g, '').slice(0, 15)}-${randomBytes(3).toString('hex')}`,
        release: release.id,
        sequence: manifest.sequence,
        startedAt: this.now(),
        status: 'running',
        waves: waves.map((devices) => ({ devices, results: {} })),
      };
      await this.save(record);
      const log = this.deps.logger.child({ rollout: record.id, release: release.id });
      log.info({ waves: waves.map((w) => w.length), sequence: manifest.sequence }, 'rollout started');
      let failed = 0;
      let answered = 0;
      for (let i = 0; i < waves.length; i++) {
        const wave = record.waves[i];
        await this.publishManifest(wave.devices, manifest);
        wave.results = await this.awaitWave(view, wave.devices, manifest.sequence, options.waveTimeoutMs, i === 0);
        const outcomes = Object.values(wave.results);
        failed += outcomes.filter((r) => r.outcome === 'failed').length;
        answered += outcomes.filter((r) => r.outcome !== 'pending').length;
        await this.save(record);
        log.info({ wave: i + 1, results: wave.results }, 'wave finished');
        if (shouldAbort(options.abort, failed, answered)) {
          record.status = 'aborted';
          record.reason = `wave ${i + 1}${i === 0 ? ' (canary)' : ''}: ${failed} device(s) failed: ${describeFailures(record)}`;
          record.notStarted = record.waves.slice(i + 1).flatMap((w) => w.devices);
          const done = record.waves.slice(0, i + 1).flatMap((w) => Object.entries(w.results).filter(([, r]) => r.outcome === 'passed').map(([d]) => d));
          record.rolledBack = await this.rollBack(done, before, log);
          break;
        }
      }
      if (record.status === 'running') record.status = 'completed';
      record.finishedAt = this.now();
      await this.save(record);
      log.info({ status: record.status, reason: record.reason }, 'rollout finished');
      return record;
    } finally {
      await view.stop();
    }
  }

  /**
   * Sends each device a signed rollback: to `release` when given, else to the release it reports
   * as `previous`. Returns device → release id; devices with no known release to go to are listed
   * under `unknown` in the thrown error when none could be served.
   */
  async rollback(devices: string[] | 'all', release?: string): Promise<Record<string, string>> {
    const view = new FleetView(this.deps.mqtt, this.deps.prefix);
    await view.start();
    try {
      const targets = await this.targets(devices, view);
      const fixed = release ? await this.deps.releases.require(release) : undefined;
      const previous = new Map(targets.map((d) => [d, view.get(d)?.model?.previous?.sha256]));
      return fixed ? await this.sendRollbacks(new Map(targets.map((d) => [d, fixed])), this.deps.logger) : await this.rollBack(targets, previous, this.deps.logger);
    } finally {
      await view.stop();
    }
  }

  /** `all` is every device on the broker that the hub knows; a named device it does not know is refused. */
  private async targets(to: string[] | 'all', view: FleetView): Promise<string[]> {
    const known = await this.deps.registeredDevices?.();
    if (to === 'all') {
      const seen = view.list().map((d) => d.deviceId);
      if (!known) return seen;
      const strangers = seen.filter((d) => !known.has(d));
      if (strangers.length) this.deps.logger.warn({ devices: strangers.slice(0, 20), count: strangers.length }, 'devices on the broker without a hub token are not targets of "all"');
      return seen.filter((d) => known.has(d));
    }
    const unknown = known ? to.filter((d) => !known.has(d)) : [];
    if (unknown.length) {
      throw new KestrelError('E_ROLLOUT', `${unknown.map((d) => `"${d}"`).join(', ')}: no active device token on this hub, so it could not download the release (kestrel hub device add <id>)`);
    }
    return to;
  }

  listRollouts(): Promise<RolloutRecord[]> {
    return readRollouts(this.deps.blobs);
  }

  private async rollBack(devices: string[], targetSha: Map<string, string | undefined>, log: Logger): Promise<Record<string, string>> {
    const plan = new Map<string, ReleaseRecord>();
    const unknown: string[] = [];
    for (const device of devices) {
      const sha = targetSha.get(device);
      const release = sha ? await this.deps.releases.findBySha(sha) : undefined;
      if (release) plan.set(device, release);
      else unknown.push(device);
    }
    if (unknown.length) log.error({ devices: unknown }, 'no hub release matches the model these devices ran before; they stay on the new release (register the old model with kestrel deploy release)');
    return this.sendRollbacks(plan, log);
  }

  private async sendRollbacks(plan: Map<string, ReleaseRecord>, log: Logger): Promise<Record<string, string>> {
    const byRelease = new Map<string, { release: ReleaseRecord; devices: string[] }>();
    for (const [device, release] of plan) {
      const entry = byRelease.get(release.id) ?? { release, devices: [] };
      entry.devices.push(device);
      byRelease.set(release.id, entry);
    }
    const out: Record<string, string> = {};
    for (const { release, devices } of byRelease.values()) {
      const manifest = await this.deps.releases.issueManifest(release, { rollback: true });
      await this.publishManifest(devices, manifest);
      for (const d of devices) out[d] = release.id;
      log.warn({ release: release.id, devices, sequence: manifest.sequence }, 'signed rollback sent');
    }
    return out;
  }

  private async publishManifest(devices: string[], manifest: ReleaseManifest): Promise<void> {
    for (const device of devices) {
      const message = outgoing(topics(this.deps.prefix, device), 'modelSet', manifest);
      await this.deps.mqtt.publishAsync(message.topic, message.payload, { qos: message.qos, retain: message.retain });
    }
  }

  /** Resolves when every device of the wave passed or failed, or at the timeout (the rest: pending or failed). */
  private awaitWave(view: FleetView, devices: string[], sequence: number, timeoutMs: number, canary: boolean): Promise<Record<string, DeviceResult>> {
    return new Promise((resolve) => {
      const results: Record<string, DeviceResult> = {};
      const judge = (device: DeviceView | undefined, id: string) => {
        const state = device?.model;
        if (!state || state.sequence !== sequence) return;
        if (state.status === 'applied' && state.health === 'passed') results[id] = { outcome: 'passed', status: state.status };
        else if (state.status === 'rejected' || state.status === 'failed' || state.status === 'rollback') {
          results[id] = { outcome: 'failed', status: state.status, reason: state.reason };
        }
      };
      const finish = () => {
        clearTimeout(timer);
        unsubscribe();
        for (const id of devices) {
          if (results[id]) continue;
          const device = view.get(id);
          // One that is on and silent is failing; one that is off gets the retained manifest when it is back.
          if (device?.online) results[id] = { outcome: 'failed', status: device.model?.status, reason: `no verdict within ${timeoutMs} ms` };
          // Canaries must vouch for the release: an offline canary fails the wave.
          else if (canary) results[id] = { outcome: 'failed', reason: 'canary is offline' };
          else results[id] = { outcome: 'pending', reason: 'offline: gets the retained manifest when it reconnects' };
        }
        resolve(results);
      };
      const check = () => {
        for (const id of devices) if (!results[id]) judge(view.get(id), id);
        // Offline devices of a later wave do not hold it up: the retained manifest waits for them.
        if (devices.every((id) => results[id] || (!canary && view.get(id)?.online !== true))) finish();
      };
      const unsubscribe = view.onChange(check);
      const timer = setTimeout(finish, timeoutMs);
      check();
    });
  }

  private async save(record: RolloutRecord): Promise<void> {
    await this.deps.blobs.put(`rollouts/${record.id}.json`, Buffer.from(JSON.stringify(record, null, 2)));
  }

  private now(): number {
    return (this.deps.now ?? Date.now)();
  }
}

function describeFailures(record: RolloutRecord): string {
  return record.waves
    .flatMap((w) => Object.entries(w.results).filter(([, r]) => r.outcome === 'failed').map(([d, r]) => `${d}: ${r.status ?? 'no answer'}${r.reason ? ` (${r.reason})` : ''}`))
    .join('; ');
}

import { KestrelError, outgoing, topics, type Logger, type ReleaseManifest } from '@kestrel/core';
import type { BlobStore } from '../release/ports.js';
import type { ReleaseRecord, ReleaseService } from '../release/release-service.js';
import { FleetView, type RolloutMqtt } from './fleet-view.js';

export type DeviceOutcome = 'passed' | 'failed' | 'pending';

export interface DeviceResult {
  outcome: DeviceOutcome;
  /** The device's model/state status and reason, as last seen. */
  status?: string;
  reason?: string;
  /** A rollback's `reasonCode` (`quality`: the device judged the release worse than the model it replaced). */
  reasonCode?: string;
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
}

/**
 * `kestrel deploy rollback`: signed rollbacks sent straight from the operator's side (where the
 * keys are), retained on each target's `model/set`. Staged rollouts run in the hub (driver.ts);
 * RolloutRecord is the shape both they and the rollouts of earlier versions are shown in.
 */
export class RolloutController {
  constructor(private readonly deps: RolloutControllerDeps) {}

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

}

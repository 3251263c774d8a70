import { randomBytes } from 'node:crypto';
import { KestrelError, outgoing, topics, type Logger, type ReleaseManifest } from '@kestrel/core';
import type { RecordStore, StoredRollout } from '../store/types.js';
import type { DeviceResult, RolloutRecord } from './controller.js';
import { FleetView, type RolloutMqtt } from './fleet-view.js';
import { parseAbortRule, planWaves, shouldAbort } from './plan.js';
import type { RolloutRequest } from './request.js';

/** A wave as the hub keeps it: when its manifest went out and, once judged, each device's result. */
interface WaveState {
  devices: string[];
  results: Record<string, DeviceResult>;
  sentAt?: number;
  finishedAt?: number;
}

/** The rollout's state machine, stored whole in the records store (StoredRollout.state). */
export interface HubRolloutState {
  release: string;
  manifest: ReleaseManifest;
  rollbacks: Record<string, ReleaseManifest>;
  /** The model each target ran when the rollout started: where an abort sends it back. */
  before: Record<string, string | null>;
  abortIf?: string;
  waveTimeoutMs: number;
  waves: WaveState[];
  /** Index of the wave in progress. */
  current: number;
  startedBy: string;
  reason?: string;
  finishedAt?: number;
  rolledBack?: Record<string, string>;
  notStarted?: string[];
}

export interface RolloutDriverDeps {
  records: RecordStore;
  mqtt: RolloutMqtt;
  prefix: string;
  logger: Logger;
  /** This process's lease holder name (replica + process). */
  holder: string;
  leaseMs: number;
  tickMs: number;
  /** Release id of a model SHA-256 (for the record of where devices were sent back). */
  releaseIdOf?: (sha256: string) => Promise<string | undefined>;
  now?: () => number;
  /** How long a new rollout waits for this replica to hear the fleet (VIEW_TIMEOUT_MS). */
  viewTimeoutMs?: number;
}

const VIEW_TIMEOUT_MS = 10_000;

/** A rollout that cannot be planned yet (the fleet not heard): the API answers 503, try again. */
export class RolloutUnavailableError extends KestrelError {
  constructor(message: string) {
    super('E_ROLLOUT_UNAVAILABLE', message);
  }
}

/**
 * Rollouts driven by the hub. Any replica may start one (it is only a row); each replica looks
 * every tick for running rollouts, claims each through its lease (or renews the lease it holds)
 * and advances the ones it holds by one step: send the wave's manifest, judge its devices from
 * their retained `model/state`, move to the next wave or stop on the abort rule. Every step is
 * saved before the next, fenced by the lease, so the replica that takes over when the holder dies
 * carries on where it stopped: a manifest sent again is retained and of one sequence, which a
 * device that acted on it ignores.
 */
export class RolloutDriver {
  private readonly view: FleetView;
  private timer?: NodeJS.Timeout;
  private ticking?: Promise<void>;
  private stopped = false;
  /** Rollouts this process held at its last tick (released when it stops). */
  private readonly held = new Set<string>();
  /** Settles once the fleet's retained status and model state are in (what a new rollout plans from). */
  private viewReady?: Promise<void>;

  constructor(private readonly deps: RolloutDriverDeps) {
    this.view = new FleetView(deps.mqtt, deps.prefix);
  }

  /** Follows the fleet's retained status and model state, then ticks. */
  async start(): Promise<void> {
    this.viewReady = this.view.start();
    try {
      await this.viewReady;
    } catch (err) {
      if (this.stopped) return; // stopped while the broker was away
      throw err;
    }
    const loop = () => {
      if (this.stopped) return;
      this.ticking = this.tick()
        .catch((err: Error) => this.deps.logger.error({ err: err.message }, 'rollout step failed; retrying at the next tick'))
        .finally(() => {
          if (!this.stopped) this.timer = setTimeout(loop, this.deps.tickMs);
        });
    };
    loop();
  }

  /** Stops ticking and lets the leases go, so another replica takes over without waiting for expiry. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.ticking;
    for (const id of this.held) await this.deps.records.releaseRollout(id, this.deps.holder).catch(() => undefined);
    await this.view.stop();
  }

  /** Plans and stores a new rollout; a replica's next tick starts sending it. */
  async create(request: RolloutRequest, by: string, registered: ReadonlySet<string>): Promise<RolloutRecord> {
    await this.whenViewReady();
    const targets = this.targets(request.to, registered);
    if (targets.length === 0) throw new KestrelError('E_ROLLOUT', 'no target devices (no device with a hub token has reported on the broker; name them with "to")');
    const online = (d: string) => this.view.get(d)?.online === true;
    const waves = planWaves(targets, { canary: request.canary, waveSize: request.waveSize }, online);
    const now = this.now();
    const state: HubRolloutState = {
      release: request.release,
      manifest: request.manifest,
      rollbacks: request.rollbacks ?? {},
      before: Object.fromEntries(targets.map((d) => [d, this.view.get(d)?.model?.current?.sha256 ?? null])),
      ...(request.abortIf !== undefined ? { abortIf: request.abortIf } : {}),
      waveTimeoutMs: request.waveTimeoutMs,
      waves: waves.map((devices) => ({ devices, results: {} })),
      current: 0,
      startedBy: by,
    };
    const id = `${new Date(now).toISOString().replace(/[-:.]/g, '').slice(0, 15)}-${randomBytes(3).toString('hex')}`;
    await this.deps.records.insertRollout({ id, status: 'running', startedAt: now, updatedAt: now, state });
    this.deps.logger.info({ rollout: id, release: request.release, waves: waves.map((w) => w.length), sequence: request.manifest.sequence, by }, 'rollout created');
    return publicRollout({ id, status: 'running', startedAt: now, updatedAt: now, state });
  }

  /**
   * A replica just started (or whose broker is away) has not heard the fleet yet: planned then, a
   * rollout would know no device's model, so none could be sent back on abort. Wait a while for it.
   */
  private async whenViewReady(): Promise<void> {
    const ready = this.viewReady;
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<'late'>((resolve) => (timer = setTimeout(() => resolve('late'), this.deps.viewTimeoutMs ?? VIEW_TIMEOUT_MS)));
    const heard = ready?.then(() => 'ready' as const, () => 'late' as const);
    const outcome = heard ? await Promise.race([heard, late]) : 'late';
    clearTimeout(timer);
    if (outcome === 'late') throw new RolloutUnavailableError('this replica has not heard the fleet on the MQTT broker yet (is it reachable?); try again');
  }

  private targets(to: RolloutRequest['to'], known: ReadonlySet<string>): string[] {
    if (to === 'all') return this.view.list().map((d) => d.deviceId).filter((d) => known.has(d));
    const unknown = to.filter((d) => !known.has(d));
    if (unknown.length) throw new KestrelError('E_ROLLOUT', `${unknown.map((d) => `"${d}"`).join(', ')}: no active device token on this hub, so it could not download the release (kestrel hub device add <id>)`);
    return [...new Set(to)];
  }

  /** One pass: claim or renew each running rollout's lease; advance those held. */
  async tick(): Promise<void> {
    const { records, holder, leaseMs } = this.deps;
    for (const id of await records.runningRolloutIds()) {
      if (this.stopped) return;
      const had = this.held.has(id);
      if (!(await records.claimRollout(id, holder, this.now(), leaseMs))) {
        this.held.delete(id);
        continue;
      }
      this.held.add(id);
      const rollout = await records.getRollout(id);
      if (!rollout || rollout.status !== 'running') continue;
      if (!had) this.deps.logger.info({ rollout: id, holder, wave: (rollout.state as HubRolloutState).current + 1 }, 'driving rollout');
      await this.advance(rollout);
    }
  }

  private async advance(rollout: StoredRollout): Promise<void> {
    const s = rollout.state as HubRolloutState;
    const log = this.deps.logger.child({ rollout: rollout.id, release: s.release });
    const now = this.now();
    if (rollout.abortRequested) return this.finish(rollout, s, 'aborted', `aborted by ${rollout.abortRequested.by}`, log);
    const wave = s.waves[s.current];
    if (!wave) return this.finish(rollout, s, 'completed', undefined, log);
    if (wave.sentAt === undefined) {
      // A manifest past its expiry is refused by every device: better said here than as N failures.
      if (s.manifest.expires <= now) return this.finish(rollout, s, 'aborted', `the signed manifest expired at ${new Date(s.manifest.expires).toISOString()} before wave ${s.current + 1}`, log);
      await this.publish(wave.devices, s.manifest);
      wave.sentAt = now;
      log.info({ wave: s.current + 1, devices: wave.devices.length }, 'wave sent');
      return this.save(rollout, s, 'running');
    }
    const canary = s.current === 0;
    const judged = this.judge(wave, s.manifest.sequence);
    const settled = wave.devices.every((d) => judged[d] || (!canary && this.view.get(d)?.online !== true));
    const timedOut = now - wave.sentAt >= s.waveTimeoutMs;
    if (!settled && !timedOut) {
      // Progress so far, for the status page; the wave is judged when it settles.
      if (Object.keys(judged).length !== Object.keys(wave.results).length) {
        wave.results = judged;
        return this.save(rollout, s, 'running');
      }
      return;
    }
    wave.results = this.close(wave, judged, s.waveTimeoutMs, canary);
    wave.finishedAt = now;
    log.info({ wave: s.current + 1, results: wave.results }, 'wave finished');
    const all = s.waves.slice(0, s.current + 1).flatMap((w) => Object.values(w.results));
    const failed = all.filter((r) => r.outcome === 'failed').length;
    const answered = all.filter((r) => r.outcome !== 'pending').length;
    // A failing canary stops the rollout whatever the rule allows later waves: it is what canaries are for.
    const canaryFailed = canary && failed > 0;
    if (canaryFailed || shouldAbort(parseAbortRule(s.abortIf), failed, answered)) {
      return this.finish(rollout, s, 'aborted', `wave ${s.current + 1}${canary ? ' (canary)' : ''}: ${failed} device(s) failed: ${describeFailures(s)}`, log);
    }
    s.current++;
    if (s.current >= s.waves.length) return this.finish(rollout, s, 'completed', undefined, log);
    return this.save(rollout, s, 'running');
  }

  /** Verdicts of the devices that gave one for this sequence. */
  private judge(wave: WaveState, sequence: number): Record<string, DeviceResult> {
    const out: Record<string, DeviceResult> = {};
    for (const id of wave.devices) {
      const state = this.view.get(id)?.model;
      if (!state || state.sequence !== sequence) continue;
      if (state.status === 'applied' && state.health === 'passed') out[id] = { outcome: 'passed', status: state.status };
      else if (state.status === 'rejected' || state.status === 'failed' || state.status === 'rollback') out[id] = { outcome: 'failed', status: state.status, reason: state.reason, ...(state.reasonCode && { reasonCode: state.reasonCode }) };
    }
    return out;
  }

  /** The wave's final results: a device on and silent is failing; one off gets the retained manifest later (an off canary fails). */
  private close(wave: WaveState, judged: Record<string, DeviceResult>, timeoutMs: number, canary: boolean): Record<string, DeviceResult> {
    const out = { ...judged };
    for (const id of wave.devices) {
      if (out[id]) continue;
      const device = this.view.get(id);
      if (device?.online) out[id] = { outcome: 'failed', status: device.model?.status, reason: `no verdict within ${timeoutMs} ms` };
      else if (canary) out[id] = { outcome: 'failed', reason: 'canary is offline' };
      else out[id] = { outcome: 'pending', reason: 'offline: gets the retained manifest when it reconnects' };
    }
    return out;
  }

  private async finish(rollout: StoredRollout, s: HubRolloutState, status: 'completed' | 'aborted', reason: string | undefined, log: Logger): Promise<void> {
    if (status === 'aborted') {
      s.reason = reason;
      s.notStarted = s.waves.filter((w) => w.sentAt === undefined).flatMap((w) => w.devices);
      // Every device that was sent the release and did not fail back by itself goes back: those
      // that passed, and those of an unfinished wave (their retained manifest is replaced too).
      const sent = s.waves.filter((w) => w.sentAt !== undefined).flatMap((w) => w.devices.filter((d) => w.results[d]?.outcome !== 'failed'));
      s.rolledBack = await this.rollBack(sent, s, log);
    }
    s.finishedAt = this.now();
    await this.save(rollout, s, status);
    log.info({ status, reason }, 'rollout finished');
  }

  private async rollBack(devices: string[], s: HubRolloutState, log: Logger): Promise<Record<string, string>> {
    const out: Record<string, string> = {};
    const unknown: string[] = [];
    const byManifest = new Map<ReleaseManifest, string[]>();
    for (const d of devices) {
      const sha = s.before[d];
      const manifest = sha ? s.rollbacks[sha] : undefined;
      if (!sha || sha === s.manifest.sha256) continue; // it already ran this release: nothing to go back to
      if (!manifest) {
        unknown.push(d);
        continue;
      }
      byManifest.set(manifest, [...(byManifest.get(manifest) ?? []), d]);
    }
    if (unknown.length) log.error({ devices: unknown }, 'no signed rollback came with the rollout for the model these devices ran before; they stay on the new release (kestrel deploy rollback)');
    for (const [manifest, list] of byManifest) {
      await this.publish(list, manifest);
      const release = (await this.deps.releaseIdOf?.(manifest.sha256)) ?? `${manifest.name}@${manifest.version}`;
      for (const d of list) out[d] = release;
      log.warn({ release, devices: list, sequence: manifest.sequence }, 'signed rollback sent');
    }
    return out;
  }

  private async publish(devices: string[], manifest: ReleaseManifest): Promise<void> {
    for (const device of devices) {
      const message = outgoing(topics(this.deps.prefix, device), 'modelSet', manifest);
      await this.deps.mqtt.publishAsync(message.topic, message.payload, { qos: message.qos, retain: message.retain });
    }
  }

  private async save(rollout: StoredRollout, s: HubRolloutState, status: StoredRollout['status']): Promise<void> {
    const saved = await this.deps.records.saveRollout(rollout.id, this.deps.holder, { status, state: s, updatedAt: this.now() });
    if (!saved) {
      // Another replica took the lease (this one stalled past its expiry): its state wins.
      this.held.delete(rollout.id);
      this.deps.logger.warn({ rollout: rollout.id, holder: this.deps.holder }, 'lost the rollout lease; the replica that holds it carries on');
    }
  }

  private now(): number {
    return (this.deps.now ?? Date.now)();
  }
}

/** What the API and the CLI show of a stored rollout: the record shape `deploy push` always wrote, the manifests left out. */
export function publicRollout(r: StoredRollout): RolloutRecord & { driver?: string; abortRequested?: { by: string; at: number }; startedBy?: string } {
  const s = r.state as HubRolloutState;
  return {
    id: r.id,
    release: s.release,
    sequence: s.manifest.sequence,
    startedAt: r.startedAt,
    ...(s.finishedAt !== undefined ? { finishedAt: s.finishedAt } : {}),
    status: r.status,
    ...(s.reason ? { reason: s.reason } : {}),
    waves: s.waves.map((w) => ({ devices: w.devices, results: w.results, ...(w.sentAt !== undefined ? { sentAt: w.sentAt } : {}), ...(w.finishedAt !== undefined ? { finishedAt: w.finishedAt } : {}) })),
    ...(s.rolledBack ? { rolledBack: s.rolledBack } : {}),
    ...(s.notStarted ? { notStarted: s.notStarted } : {}),
    startedBy: s.startedBy,
    ...(r.lease ? { driver: r.lease.holder } : {}),
    ...(r.abortRequested ? { abortRequested: r.abortRequested } : {}),
  };
}

function describeFailures(s: HubRolloutState): string {
  return s.waves
    .flatMap((w) => Object.entries(w.results).filter(([, r]) => r.outcome === 'failed').map(([d, r]) => `${d}: ${r.status ?? 'no answer'}${r.reason ? ` (${r.reason})` : ''}`))
    .join('; ');
}

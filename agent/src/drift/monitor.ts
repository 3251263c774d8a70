import { driftBaselineOf, outgoing, restored, type BinnedDetection, type CameraDrift, type DeviceTopics, type DriftAlert, type Logger, type OutgoingMessage } from '@kestrel/core';
import type { DriftConfig } from '@kestrel/config';
import type { ModelInfo } from '../inference/protocol.js';
import { CameraDriftState, type BaselineSource } from './camera-drift.js';
import { LearnedBaselines } from './learned-baselines.js';

export interface DriftMonitorDeps {
  config: DriftConfig;
  deviceId: string;
  topics: DeviceTopics;
  /** Publishes when connected; the retained message of each camera is sent again on every connect. */
  link: { publishIfConnected(message: OutgoingMessage): boolean; on(event: 'connected', listener: () => void): unknown; off(event: 'connected', listener: () => void): unknown };
  /** Told when a camera's alert goes on or off (drift.boostSampler). */
  sampler?: { setDrifted(camera: string, drifted: boolean): void };
  /** The model serving now (its baseline, its hash); undefined before it loads. */
  model: () => ModelInfo | undefined;
  /** A camera's `filters.minScore`: what a learned baseline counts from. */
  minScore: (camera: string) => number;
  stateDir: string;
  /** Each comparison's figures as gauges (AgentMetrics). */
  metrics?: { driftPsi: DriftGauge; driftJs: DriftGauge; driftAlert: DriftGauge };
  logger: Logger;
  now?: () => number;
}

interface DriftGauge {
  set(labels: { camera: string }, value: number): void;
}

/**
 * Drift on the device (a Part): sees every processed frame's detections, keeps one
 * CameraDriftState per camera, and every `drift.intervalS` compares each with its baseline,
 * publishes the result on the camera's retained drift topic, hands it to the next stats message,
 * and raises or lowers the sampler's drift strategy for that camera. The baseline is the model's
 * own (`kestrel.drift_baseline`), else the one this device learned for the model and camera, else
 * one is learned over the first `learnMinutes`. A model swap starts every camera afresh.
 */
export class DriftMonitor {
  readonly name = 'drift';
  private readonly cameras = new Map<string, CameraDriftState>();
  /** The latest message per camera: sent again on every connect (a retained message lost while away). */
  private readonly lastAlert = new Map<string, DriftAlert>();
  /** Comparisons not yet in a stats message. */
  private readonly unsent = new Map<string, CameraDrift>();
  private readonly learned: LearnedBaselines;
  private modelSha?: string;
  private timer?: NodeJS.Timeout;
  private problem?: string;
  private readonly now: () => number;

  constructor(private readonly deps: DriftMonitorDeps) {
    this.learned = new LearnedBaselines(deps.stateDir);
    this.now = deps.now ?? Date.now;
  }

  start(): void {
    if (!this.deps.config.enabled) return;
    this.timer = setInterval(() => this.tick(), this.deps.config.intervalS * 1000);
    this.timer.unref();
    this.deps.link.on('connected', this.resend);
  }

  stop(): void {
    clearInterval(this.timer);
    this.deps.link.off('connected', this.resend);
  }

  degraded(): string[] {
    return this.problem ? [this.problem] : [];
  }

  /** One processed frame of a camera: its detections (boxes in source pixels) and the frame's area in them. */
  observe(camera: string, detections: readonly BinnedDetection[], frameArea: number): void {
    if (!this.deps.config.enabled) return;
    const state = this.stateOf(camera);
    state?.observe(detections, frameArea);
  }

  /** The comparison made since the last call, once (the stats carry each one once: a low rate). */
  takeStats(camera: string): CameraDrift | undefined {
    const drift = this.unsent.get(camera);
    this.unsent.delete(camera);
    return drift;
  }

  /** Whether a camera's alert is on now. */
  isDrifted(camera: string): boolean {
    return this.cameras.get(camera)?.isDrifted ?? false;
  }

  /**
   * Only these cameras run now (a reload removed the others): a removed camera's state goes, and
   * its retained drift message is removed (an empty retained payload, MQTT's way), so no dashboard
   * shows an alert of a camera that is gone. Its learned baseline stays on disk for its return.
   */
  keepOnly(cameras: readonly string[]): void {
    const keep = new Set(cameras);
    for (const camera of new Set([...this.cameras.keys(), ...this.lastAlert.keys()])) {
      if (keep.has(camera)) continue;
      this.deps.sampler?.setDrifted(camera, false);
      this.cameras.delete(camera);
      this.unsent.delete(camera);
      if (this.lastAlert.delete(camera)) this.deps.link.publishIfConnected(restored('drift', this.deps.topics.drift(camera), ''));
    }
  }

  /** The interval's end: every camera compared (or its learning finished), results published. */
  tick(): void {
    const model = this.deps.model();
    if (!model || model.sha256 !== this.modelSha) return;
    const now = this.now();
    for (const [camera, state] of this.cameras) {
      const { comparison, learned } = state.tick(now);
      if (learned) {
        try {
          const path = this.learned.save(model.sha256, camera, learned);
          this.deps.logger.info({ camera, frames: learned.frames, path }, 'drift baseline learned');
        } catch (err) {
          this.deps.logger.warn({ camera, err: (err as Error).message }, 'drift baseline learned but not kept: it is learned again after a restart');
        }
      }
      if (!comparison) continue;
      const { changed, ...drift } = comparison;
      const alert: DriftAlert = { schema: 1, deviceId: this.deps.deviceId, camera, modelVersion: model.meta.version ?? '0', ...drift };
      this.lastAlert.set(camera, alert);
      this.unsent.set(camera, withoutSince(drift));
      this.deps.link.publishIfConnected(outgoing(this.deps.topics, 'drift', alert));
      const m = this.deps.metrics;
      m?.driftPsi.set({ camera }, drift.psi);
      m?.driftJs.set({ camera }, drift.js);
      m?.driftAlert.set({ camera }, drift.drifted ? 1 : 0);
      if (changed) {
        const log = drift.drifted ? this.deps.logger.warn.bind(this.deps.logger) : this.deps.logger.info.bind(this.deps.logger);
        log({ camera, psi: drift.psi, js: drift.js, threshold: drift.threshold, worst: drift.worst }, drift.drifted ? 'drift alert raised' : 'no drift');
        if (this.deps.config.boostSampler) this.deps.sampler?.setDrifted(camera, drift.drifted);
      }
    }
  }

  private readonly resend = (): void => {
    for (const alert of this.lastAlert.values()) this.deps.link.publishIfConnected(outgoing(this.deps.topics, 'drift', alert));
  };

  private stateOf(camera: string): CameraDriftState | undefined {
    const model = this.deps.model();
    if (!model) return undefined;
    if (model.sha256 !== this.modelSha) this.reset(model);
    let state = this.cameras.get(camera);
    if (!state) {
      state = new CameraDriftState(this.baselineFor(model, camera), this.deps.config);
      this.cameras.set(camera, state);
      this.deps.logger.info({ camera, baseline: state.baselineKind }, 'drift monitoring');
    }
    return state;
  }

  /** A new model: its baseline replaces the old one; alerts about the old model no longer boost the sampler. */
  private reset(model: ModelInfo): void {
    for (const camera of this.cameras.keys()) this.deps.sampler?.setDrifted(camera, false);
    this.cameras.clear();
    this.unsent.clear();
    this.modelSha = model.sha256;
    this.problem = undefined;
  }

  private baselineFor(model: ModelInfo, camera: string): BaselineSource {
    const { config, logger } = this.deps;
    try {
      const own = driftBaselineOf(model.meta, model.path);
      if (own) return { kind: 'model', baseline: own };
    } catch (err) {
      // The model still detects; its baseline is learned here instead, and the state says why.
      this.problem = `drift baseline of the model unusable, learning one: ${(err as Error).message}`;
      logger.warn({ err: (err as Error).message }, 'the model\'s drift baseline is unusable; learning one on this device');
    }
    try {
      const kept = this.learned.load(model.sha256, camera);
      if (kept) return { kind: 'learned', baseline: kept };
    } catch (err) {
      logger.warn({ camera, err: (err as Error).message }, 'the learned drift baseline is unusable; learning it again');
    }
    if (config.learnMinutes <= 0) return { kind: 'none' };
    return { kind: 'learning', until: this.now() + config.learnMinutes * 60_000, minScore: this.deps.minScore(camera) };
  }
}

function withoutSince(drift: CameraDrift & { since: number }): CameraDrift {
  const { since: _since, ...rest } = drift;
  return rest;
}

import type { CameraDrift, DeviceState, Stats } from '@kestrel/core';
import type { CameraSet } from '../pipeline/camera-set.js';
import type { FrameScheduler } from '../schedule/index.js';
import type { CameraFrame } from '../pipeline/camera-runtime.js';
import type { InferenceEngine } from '../inference/engine.js';
import type { MqttLink } from '../publish/mqtt-link.js';
import type { Outbox } from '../publish/outbox.js';
import type { EventPublisher } from '../publish/event-publisher.js';
import type { Sampler } from '../sampling/index.js';
import type { MetricsSnapshot } from '../metrics/agent-metrics.js';
import { samplesSnapshot, statsSamples } from '../metrics/sample-counters.js';
import type { LatencyWindow } from '../stats/latency-window.js';
import { buildDeviceState } from '../state/device-state.js';
import { watchdogLiveness } from '../systemd/liveness.js';
import type { Liveness } from '../systemd/service.js';
import { buildHealthReport, type HealthReport } from './report.js';
import type { InferenceCheck, InferenceLiveness } from './inference-liveness.js';

/** The parts the agent has built so far; each appears as its start reaches it. */
export interface RunningParts {
  engine?: InferenceEngine;
  link?: MqttLink;
  outbox?: Outbox;
  /** False when the outbox could only be opened in memory. */
  outboxDurable?: boolean;
  publisher?: EventPublisher;
  sampler?: Sampler;
  /** Drift per camera: each comparison rides in the next stats message once. */
  drift?: { takeStats(camera: string): CameraDrift | undefined };
}

export interface AgentStatusDeps {
  deviceId: string;
  parts: RunningParts;
  cameras: CameraSet;
  scheduler: FrameScheduler<CameraFrame>;
  liveness: InferenceLiveness;
  inferenceMs: LatencyWindow;
  /** Every reason the agent runs below par, as the retained state and /healthz give it. */
  degraded: () => string[];
  /** Start and reloads count as progress for the watchdog (cameras need time to connect). */
  progressSince: () => number;
  startedAt: () => number;
}

/**
 * What the agent says about itself, in each of its forms: the retained `state`, the `stats`
 * message, /healthz, the systemd watchdog's verdict and the Prometheus snapshot, all read from
 * the same parts.
 */
export class AgentStatus {
  private lastStatsAt = Date.now();

  constructor(private readonly deps: AgentStatusDeps) {}

  deviceState(): DeviceState {
    const { deps } = this;
    return buildDeviceState({ deviceId: deps.deviceId, startedAt: deps.startedAt(), model: deps.parts.engine?.info, cameras: deps.cameras.statuses(), degraded: deps.degraded() });
  }

  private inferenceCheck(now = Date.now()): InferenceCheck {
    return this.deps.liveness.check({ now, ready: this.deps.parts.engine?.ready === true, framesFlowing: this.deps.cameras.anyStreaming() });
  }

  /** The /healthz document: 200 only while every enabled camera streams and inference answers. */
  health(): HealthReport {
    const { parts, cameras } = this.deps;
    const now = Date.now();
    const outbox = parts.outbox?.stats();
    return buildHealthReport({
      now,
      deviceId: this.deps.deviceId,
      startedAt: this.deps.startedAt(),
      cameras: cameras.sources(),
      inference: { ...this.inferenceCheck(now), provider: parts.engine?.info?.provider, restarts: parts.engine?.restarts ?? 0 },
      mqtt: { connected: parts.link?.connected === true, reconnects: Math.max(0, (parts.link?.stats.connects ?? 0) - 1), telemetryDropped: parts.link?.stats.telemetryDropped ?? 0 },
      outbox: outbox && { depth: outbox.depth, bytes: outbox.bytes, dropped: outbox.droppedEvents, durable: parts.outboxDurable !== false },
      degraded: this.deps.degraded(),
    });
  }

  /** For the systemd watchdog and its STATUS= line (the rule is in systemd/liveness.ts). */
  liveness(withinMs: number): Liveness {
    const now = Date.now();
    const sources = this.deps.cameras.sources();
    return watchdogLiveness({
      now,
      withinMs,
      inference: this.inferenceCheck(now),
      // A camera with detection switched off sends no frame through on purpose: it cannot make the pipeline look stuck.
      cameras: sources.filter(({ name }) => this.deps.cameras.detecting(name)).map(({ name, state }) => ({ name, state })),
      detectionOff: sources.filter(({ name }) => !this.deps.cameras.detecting(name)).map(({ name }) => name),
      lastProgressAt: Math.max(this.deps.liveness.lastProcessedAt, this.deps.progressSince()),
      mqttConnected: this.deps.parts.link?.connected === true,
      outboxDepth: this.deps.parts.outbox?.depth ?? 0,
    });
  }

  metricsSnapshot(): MetricsSnapshot {
    const { outbox, link, publisher, sampler } = this.deps.parts;
    const o = outbox?.stats();
    return {
      cameras: this.deps.cameras.metricsCameras(),
      inferenceUp: this.inferenceCheck().alive,
      ...(o && outbox ? { outbox: { depth: o.depth, bytes: o.bytes, droppedBudget: o.droppedByReason.count, droppedAge: o.droppedByReason.age, owner: outbox } } : {}),
      ...(link ? { mqtt: { connected: link.connected, reconnects: Math.max(0, link.stats.connects - 1), telemetryDropped: link.stats.telemetryDropped, owner: link } } : {}),
      ...(publisher ? { eventsPublished: { total: publisher.published, owner: publisher } } : {}),
      ...(sampler ? { samples: samplesSnapshot(sampler) } : {}),
    };
  }

  /** The `stats` message: rates over the interval since the last one. */
  statsSnapshot(): Stats {
    const { parts, scheduler, inferenceMs } = this.deps;
    const now = Date.now();
    const intervalSeconds = Math.max(0.001, (now - this.lastStatsAt) / 1000);
    this.lastStatsAt = now;
    const outbox = parts.outbox!.stats();
    const samples = parts.sampler && samplesSnapshot(parts.sampler);
    const stats: Stats = {
      schema: 1,
      deviceId: this.deps.deviceId,
      at: now,
      intervalSeconds: Math.round(intervalSeconds * 1000) / 1000,
      uptimeSeconds: Math.round((now - this.deps.startedAt()) / 1000),
      inference: { ms: inferenceMs.percentiles(), queue: scheduler.pendingCount, provider: parts.engine?.info?.provider },
      cameras: this.camerasStats(intervalSeconds),
      outbox: { depth: outbox.depth, dropped: outbox.droppedEvents },
      ...(samples?.enabled ? { samples: statsSamples(samples) } : {}),
    };
    inferenceMs.reset();
    return stats;
  }

  private camerasStats(intervalSeconds: number): Stats['cameras'] {
    const cameras = this.deps.cameras.takeStats(intervalSeconds);
    const drift = this.deps.parts.drift;
    if (!drift) return cameras;
    return Object.fromEntries(Object.entries(cameras).map(([name, stats]) => {
      const d = drift.takeStats(name);
      return [name, d ? { ...stats, drift: d } : stats];
    }));
  }
}

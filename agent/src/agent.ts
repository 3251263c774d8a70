import { join } from 'node:path';
import {
  BUNDLED_MODEL_PATH, encodePayload, topics, redactUrl, isKestrelError,
  type CameraStatus, type Detection, type Logger, type DeviceTopics, type Stats,
} from '@kestrel/core';
import type { AgentConfig } from '@kestrel/config';
import { InferenceEngine } from './inference/engine.js';
import type { ModelInfo } from './inference/protocol.js';
import { MqttLink } from './publish/mqtt-link.js';
import { Outbox } from './publish/outbox.js';
import { EventPublisher } from './publish/event-publisher.js';
import { EmbeddedBroker, isListening } from './broker/embedded.js';
import { FrameScheduler, type Frame } from './source/index.js';
import { CameraRuntime } from './pipeline/camera-runtime.js';
import { LatencyWindow } from './stats/latency-window.js';
import { buildDeviceState } from './state/device-state.js';

export interface AgentDeps {
  logger: Logger;
  /** Whether the config named a broker; if not and none listens on the default, one is embedded. */
  brokerConfigured: boolean;
}

/**
 * The agent's one owner: builds every part, starts them in order, stops them in reverse.
 * Nothing else starts or stops anything (zigbee2mqtt's controller is the model).
 */
export class Agent {
  private broker?: EmbeddedBroker;
  private outbox?: Outbox;
  private link?: MqttLink;
  private publisher?: EventPublisher;
  private engine?: InferenceEngine;
  private readonly scheduler = new FrameScheduler();
  private cameras = new Map<string, CameraRuntime>();
  private readonly inferenceMs = new LatencyWindow(512);
  private loop?: Promise<void>;
  private readonly abort = new AbortController();
  private statsTimer?: NodeJS.Timeout;
  private stateTimer?: NodeJS.Timeout;
  private startedAt = Date.now();
  private lastStatsAt = Date.now();
  private degraded: string[] = [];
  private topics!: DeviceTopics;
  mqttUrl = '';

  constructor(
    private readonly config: AgentConfig,
    private readonly deps: AgentDeps,
  ) {}

  get modelInfo(): ModelInfo | undefined {
    return this.engine?.info;
  }

  async start(): Promise<void> {
    const { config, deps } = this;
    const log = deps.logger;
    this.startedAt = Date.now();
    this.topics = topics(config.mqtt.prefix, config.device.id);

    this.mqttUrl = config.mqtt.url;
    if (!deps.brokerConfigured && !(await isListening('127.0.0.1', 1883))) {
      this.broker = new EmbeddedBroker('127.0.0.1', 1883, log.child({ part: 'broker' }));
      await this.broker.start();
      this.mqttUrl = this.broker.url;
    }

    this.outbox = new Outbox(config.outbox.path, { maxEvents: config.outbox.maxEvents, maxBytes: config.outbox.maxBytes, maxAgeMs: config.outbox.maxAgeHours * 3600_000 }, log.child({ part: 'outbox' }));
    this.outbox.open();

    this.link = new MqttLink(
      {
        url: this.mqttUrl,
        clientId: config.mqtt.clientId,
        username: config.mqtt.username,
        password: config.mqtt.password,
        tls: config.mqtt.tls,
        keepaliveSeconds: config.mqtt.keepalive,
        reconnect: { minMs: config.mqtt.reconnect.minMs, maxMs: config.mqtt.reconnect.maxMs },
        statusTopic: this.topics.status,
      },
      log.child({ part: 'mqtt' }),
    );
    this.publisher = new EventPublisher(this.outbox, this.link, log.child({ part: 'events' }));
    this.link.on('connected', () => this.publishState());

    const modelPath = config.model.path ?? BUNDLED_MODEL_PATH;
    this.engine = new InferenceEngine({
      modelPath,
      load: {
        providers: config.model.providers,
        threads: config.model.threads,
        overrides: modelOverrides(config),
        cacheDir: join(config.stateDir, 'engine-cache'),
      },
      logger: log.child({ part: 'inference' }),
    });
    this.engine.on('restarted', (reason) => {
      this.degraded = [`inference restarted: ${reason}`];
      this.publishState();
    });
    this.engine.on('loaded', () => {
      this.degraded = [];
      this.publishState();
    });
    const info = await this.engine.start();
    log.info({ model: info.meta.name, version: info.meta.version, provider: info.provider, skipped: info.skippedProviders.map((s) => `${s.provider}: ${s.reason}`) }, 'model loaded');

    this.link.start();
    this.publisher.start();

    for (const camera of config.cameras.filter((c) => c.enabled)) {
      const runtime = new CameraRuntime(camera, {
        input: info.meta.input,
        deviceId: config.device.id,
        prefix: config.mqtt.prefix,
        modelVersion: () => this.engine?.info?.meta.version ?? '0',
        logger: log.child({ camera: camera.name }),
        onFrame: (frame) => this.scheduler.push(frame),
        onStateChange: () => this.publishState(),
      });
      this.cameras.set(camera.name, runtime);
    }
    for (const runtime of this.cameras.values()) await runtime.start();

    this.loop = this.runInference();
    const statsMs = config.mqtt.statsIntervalSeconds * 1000;
    this.statsTimer = setInterval(() => this.publishStats(), statsMs);
    // The state carries per-camera fps: refresh it now and then even without state changes.
    this.stateTimer = setInterval(() => this.publishState(), Math.max(statsMs, 30_000));
    log.info({ cameras: [...this.cameras.keys()], mqtt: redactUrl(this.mqttUrl) }, 'agent started');
  }

  /** The inference loop: up to maxInFlight frames in the worker, cameras served in turn. */
  private async runInference(): Promise<void> {
    const engine = this.engine!;
    const inFlight = new Set<Promise<void>>();
    while (!this.abort.signal.aborted) {
      if (inFlight.size >= engine.maxInFlight) {
        await Promise.race(inFlight);
        continue;
      }
      const frame = await this.scheduler.wait(this.abort.signal);
      if (!frame) break;
      const p = this.process(engine, frame).finally(() => inFlight.delete(p));
      inFlight.add(p);
    }
    await Promise.allSettled(inFlight);
  }

  private async process(engine: InferenceEngine, frame: Frame): Promise<void> {
    const runtime = this.cameras.get(frame.camera);
    if (!runtime) return;
    try {
      const result = await engine.infer(frame.data, frame.geometry, { scoreThreshold: runtime.scoreThreshold });
      this.inferenceMs.add(result.inferenceMs);
      runtime.handleDetections(frame, result.detections, result.inferenceMs, (kind, topic, payload) => this.emit(kind, topic, payload));
    } catch (err) {
      runtime.countFailed();
      if (!isKestrelError(err) || !err.code.startsWith('E_INFERENCE')) this.deps.logger.error({ err: (err as Error).message, camera: frame.camera }, 'inference failed');
    }
  }

  /** Events go through the durable outbox; per-frame detections are QoS 0 telemetry. */
  private emit(kind: 'events' | 'detections', topic: string, payload: string): void {
    if (kind === 'events') this.publisher!.enqueue(topic, Buffer.from(payload));
    else if (this.config.mqtt.publishDetections) this.link!.publishTelemetry(topic, payload);
  }

  cameraStatuses(): Record<string, CameraStatus> {
    return Object.fromEntries([...this.cameras].map(([name, rt]) => [name, rt.cameraStatus()]));
  }

  private publishState(): void {
    if (!this.link) return;
    const state = buildDeviceState({ deviceId: this.config.device.id, startedAt: this.startedAt, model: this.engine?.info, cameras: this.cameraStatuses(), degraded: this.degradedReasons() });
    this.link.publishRetained(this.topics.state, encodePayload('state', state));
  }

  degradedReasons(): string[] {
    const reasons = [...this.degraded];
    for (const [name, rt] of this.cameras) {
      const s = rt.cameraStatus();
      if (s.state === 'failed' || s.state === 'stalled') reasons.push(`camera ${name} ${s.state}${s.lastError ? `: ${s.lastError}` : ''}`);
    }
    return reasons;
  }

  statsSnapshot(): Stats {
    const now = Date.now();
    const intervalSeconds = Math.max(0.001, (now - this.lastStatsAt) / 1000);
    this.lastStatsAt = now;
    const queues = this.scheduler.stats();
    const cameras = Object.fromEntries([...this.cameras].map(([name, rt]) => [name, rt.takeStats(intervalSeconds, queues[name]?.pending ? 1 : 0, queues[name]?.dropped ?? 0)]));
    const outbox = this.outbox!.stats();
    const stats: Stats = {
      schema: 1,
      deviceId: this.config.device.id,
      at: now,
      intervalSeconds: Math.round(intervalSeconds * 1000) / 1000,
      uptimeSeconds: Math.round((now - this.startedAt) / 1000),
      inference: { ms: this.inferenceMs.percentiles(), queue: this.scheduler.pendingCount, provider: this.engine?.info?.provider },
      cameras,
      outbox: { depth: outbox.depth, dropped: outbox.droppedEvents },
    };
    this.inferenceMs.reset();
    return stats;
  }

  private publishStats(): void {
    this.link?.publishTelemetry(this.topics.stats, encodePayload('stats', this.statsSnapshot()));
  }

  /** Stops everything in reverse order, within a bounded time. */
  async stop(timeoutMs = 8000): Promise<void> {
    const log = this.deps.logger;
    clearInterval(this.statsTimer);
    clearInterval(this.stateTimer);
    await Promise.allSettled([...this.cameras.values()].map((c) => c.stop()));
    this.abort.abort();
    this.scheduler.close();
    await Promise.race([this.loop, new Promise((r) => setTimeout(r, 2000))]);
    // Tracks still open end now, so consumers see every object's `end`.
    for (const rt of this.cameras.values()) rt.flush((kind, topic, payload) => this.emit(kind, topic, payload));
    this.publishState();
    const flushed = await this.publisher?.flush(Math.max(500, timeoutMs / 2));
    if (flushed === false) log.warn({ depth: this.outbox?.depth }, 'events left in the outbox for the next start');
    this.publisher?.stop();
    await this.link?.stop();
    await this.engine?.stop();
    this.outbox?.close();
    await this.broker?.stop();
    log.info('agent stopped');
  }
}

function modelOverrides(config: AgentConfig): Partial<import('@kestrel/core').KestrelMetadata> {
  const m = config.model;
  const o: Partial<import('@kestrel/core').KestrelMetadata> = {};
  if (m.decoder) o.decoder = m.decoder;
  if (m.labels) o.labels = m.labels;
  if (m.inputSize) o.input = { width: m.inputSize[0], height: m.inputSize[1], layout: 'NCHW', colour: 'RGB', mean: [0, 0, 0], std: [255, 255, 255], letterbox: true, padValue: 114 };
  return o;
}

export type { Detection };

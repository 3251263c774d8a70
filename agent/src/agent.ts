import { join } from 'node:path';
import { BUNDLED_MODEL_PATH, KESTREL_VERSION, defaultInputSpec, outgoing, topics, redactUrl, type Detection, type KestrelMetadata, type Logger } from '@kestrel/core';
import type { AgentConfig } from '@kestrel/config';
import { PartList } from './lifecycle/parts.js';
import { EmbeddedBroker, isListening } from './broker/embedded.js';
import { openOutbox } from './publish/open-outbox.js';
import { MqttLink } from './publish/mqtt-link.js';
import { EventPublisher } from './publish/event-publisher.js';
import { MqttCameraSink } from './publish/camera-sink.js';
import { Telemetry } from './publish/telemetry.js';
import { Sampler } from './sampling/index.js';
import { InferenceEngine } from './inference/engine.js';
import { InferenceLoop } from './inference/loop.js';
import type { LoadOptions, ModelInfo } from './inference/protocol.js';
import { FrameScheduler } from './schedule/index.js';
import { CameraSet } from './pipeline/camera-set.js';
import type { CameraFrame } from './pipeline/camera-runtime.js';
import { AgentUpdates, ModelUpdater, InferenceCounters } from './update/index.js';
import { Reloader, type ReloadResult } from './reload/reloader.js';
import { AgentMetrics } from './metrics/agent-metrics.js';
import { LatencyWindow } from './stats/latency-window.js';
import { AgentStatus, type RunningParts } from './health/agent-status.js';
import { HttpPart } from './health/http-part.js';
import type { HealthReport } from './health/report.js';
import { InferenceLiveness } from './health/inference-liveness.js';
import { createNotifier } from './systemd/sd-notify.js';
import { SystemdService } from './systemd/service.js';
import { checkModelFile } from './util/preflight.js';
import { logFfmpegChoice, resolveFfmpeg } from './source/index.js';
import { HomeAssistantBridge } from './homeassistant/bridge.js';
import { snapshotOutlet } from './publish/snapshot-outlet.js';
import { ClipsPart } from './clips/index.js';
import { DriftMonitor } from './drift/index.js';
import { ShadowRunner } from './shadow/index.js';

export type { ReloadResult };

export interface AgentDeps {
  logger: Logger;
  /** Whether the config named a broker; if not and none listens on the default, one is embedded. */
  brokerConfigured: boolean;
  /** Reads the configuration again (SIGHUP, file change). Without it, reload() is refused. */
  reloadConfig?: () => AgentConfig;
  /** The config file to watch: a save reloads the cameras. Null or absent: reload on SIGHUP only. */
  watchPath?: string | null;
  /** Where $NOTIFY_SOCKET and $WATCHDOG_USEC are read (default process.env). */
  env?: NodeJS.ProcessEnv;
}

/**
 * The agent's one owner. A frame goes one way: camera source → scheduler → inference loop →
 * camera pipeline (filters, tracker) → typed events → sink, which encodes once for the outbox
 * and MQTT. `start` builds the parts in that dependency order, each joining one list; `stop`
 * takes the list down in reverse; `degraded` is what the parts say about themselves.
 */
export class Agent {
  readonly metrics: AgentMetrics;
  private readonly parts: PartList;
  private readonly running: RunningParts = {};
  private readonly scheduler = new FrameScheduler<CameraFrame>();
  private readonly liveness = new InferenceLiveness();
  private readonly inferenceMs = new LatencyWindow(512);
  private readonly updateCounters: InferenceCounters;
  private readonly systemd: SystemdService;
  private status?: AgentStatus;
  private reloader?: Reloader;
  private telemetry?: Telemetry;
  private loop?: InferenceLoop;
  private http?: HttpPart;
  private outboxProblem?: string;
  private inferenceProblem?: string;
  private startedAt = Date.now();
  /** Progress the systemd watchdog counts from: readiness and reloads give cameras time to connect. */
  private progressSince = 0;
  private stopping?: Promise<void>;
  mqttUrl = '';

  constructor(
    private readonly config: AgentConfig,
    private readonly deps: AgentDeps,
  ) {
    const log = deps.logger;
    this.parts = new PartList(log);
    // The confidence histogram the post-update watch compares counts from the lowest score any camera reports.
    this.updateCounters = new InferenceCounters(Math.min(...config.cameras.map((c) => c.filters.minScore)));
    // Both are read only once start() has built the status (the metrics at a scrape, the watchdog after ready).
    this.metrics = new AgentMetrics(() => this.status!.metricsSnapshot());
    this.systemd = new SystemdService({
      notifier: createNotifier({ env: deps.env, logger: log.child({ part: 'systemd' }) }),
      logger: log.child({ part: 'systemd' }),
      liveness: (withinMs) => this.status!.liveness(withinMs),
      env: deps.env,
    });
  }

  async start(): Promise<void> {
    const { config, deps, parts, running } = this;
    const log = deps.logger;
    this.startedAt = Date.now();
    this.progressSince = this.startedAt;
    const deviceTopics = topics(config.mqtt.prefix, config.device.id, { discoveryPrefix: config.homeassistant.discoveryPrefix });
    // Before anything starts: a model that is not there is a configuration error (exit 2), not a retry.
    const configuredModelPath = config.model.path ?? BUNDLED_MODEL_PATH;
    checkModelFile(configuredModelPath, config.model.path !== undefined);
    // A model installed by a fleet update serves instead of the configured one (unless the config
    // now names another model, or the agent stopped while a new model was still being watched).
    const modelPath = config.update.enabled ? ModelUpdater.startupModel(config.stateDir, configuredModelPath) : configuredModelPath;
    await parts.start({ name: 'systemd', start: () => undefined, stop: () => this.systemd.close() });

    this.mqttUrl = config.mqtt.url;
    if (!deps.brokerConfigured && !(await isListening('127.0.0.1', 1883))) {
      const broker = new EmbeddedBroker('127.0.0.1', 1883, log.child({ part: 'broker' }));
      await parts.start({ name: 'broker', start: () => broker.start(), stop: () => broker.stop() });
      this.mqttUrl = broker.url;
    }

    const opened = openOutbox(config.outbox, log.child({ part: 'outbox' }));
    const outbox = (running.outbox = opened.outbox);
    this.outboxProblem = opened.problem;
    running.outboxDurable = opened.problem === undefined;
    await parts.start({ name: 'outbox', start: () => undefined, stop: () => outbox.close(), degraded: () => (this.outboxProblem ? [this.outboxProblem] : []) });

    const m = config.mqtt;
    const link = (running.link = new MqttLink(
      { url: this.mqttUrl, clientId: m.clientId, username: m.username, password: m.password, tls: m.tls, keepaliveSeconds: m.keepalive, reconnect: m.reconnect, topics: deviceTopics },
      log.child({ part: 'mqtt' }),
    ));
    const publisher = (running.publisher = new EventPublisher(outbox, link, log.child({ part: 'events' })));

    // The cameras are built now, so the health report and the state can speak of them, and
    // started once the model is loaded (their ffmpeg scales to its input).
    const ffmpeg = resolveFfmpeg();
    let engine: InferenceEngine | undefined;
    // Built after the cameras start; the sink hands it every event from then on.
    let homeAssistant: HomeAssistantBridge | undefined;
    // Each clip is announced on `<camera>/clip` through the outbox, like the `end` it follows.
    const clips = new ClipsPart({
      stateDir: config.stateDir,
      ffmpegPath: ffmpeg.path,
      onClip: (clip) => publisher.enqueue(outgoing(deviceTopics, 'clip', { schema: 1, id: `${clip.trackId}:clip`, deviceId: config.device.id, ...clip })),
      logger: log.child({ part: 'clips' }),
    });
    const cameras = new CameraSet({
      ffmpegPath: ffmpeg.path,
      input: () => engine!.info!.meta.input,
      deviceId: config.device.id,
      modelVersion: () => engine?.info?.meta.version ?? '0',
      stateDir: config.stateDir,
      sink: new MqttCameraSink({ topics: deviceTopics, publisher, link, metrics: this.metrics, publishDetections: m.publishDetections, logger: log, onEvent: (event) => homeAssistant?.event(event) }),
      snapshots: snapshotOutlet({ topics: deviceTopics, link, sampler: () => running.sampler, modelVersion: () => engine?.info?.meta.version ?? '0', logger: log.child({ part: 'snapshots' }) }),
      clips,
      scheduler: this.scheduler,
      metrics: this.metrics,
      logger: log,
      onStateChange: () => this.stateChanged(),
    });
    this.status = new AgentStatus({
      deviceId: config.device.id,
      parts: running,
      cameras,
      scheduler: this.scheduler,
      liveness: this.liveness,
      inferenceMs: this.inferenceMs,
      degraded: () => this.degradedReasons(),
      progressSince: () => this.progressSince,
      startedAt: () => this.startedAt,
    });
    const telemetry = (this.telemetry = new Telemetry({ link, topics: deviceTopics, status: this.status, statsIntervalSeconds: m.statsIntervalSeconds }));

    link.on('connected', () => telemetry.publishState());
    // Connected before the model loads (seconds on a CPU, minutes for a TensorRT engine build):
    // events left in the outbox by the last run go out meanwhile, and the state says `model: null`.
    // On stop the state goes out once, here, with everything above already stopped (cameras
    // `stopped`), just before the retained `offline`: not once per part that changed on the way down.
    await parts.start({
      name: 'mqtt',
      start: () => link.start(),
      stop: () => {
        telemetry.publishState();
        return link.stop();
      },
    });
    await parts.start({
      name: 'event publisher',
      start: () => publisher.start(),
      // Whatever the broker takes within half the stop budget leaves the outbox now.
      stop: async (timeoutMs) => {
        const flushed = await publisher.flush(Math.max(500, timeoutMs / 2));
        if (!flushed) log.warn({ depth: outbox.depth, durable: running.outboxDurable }, 'events left in the outbox for the next start');
        publisher.stop();
      },
    });

    const sampler = (running.sampler = new Sampler({
      config: config.sampling,
      deviceId: config.device.id,
      mqttPrefix: m.prefix,
      logger: log.child({ part: 'sampler' }),
      publishAcked: (message) => link.publishAcked(message),
    }));
    await parts.start({ name: 'sampler', start: () => sampler.start(), stop: () => sampler.stop() });

    // Up before the model loads, so a slow start (a TensorRT engine build) is visible as a 503.
    if (config.http.enabled) {
      this.http = new HttpPart({
        bind: config.http.bind,
        health: () => this.health(),
        metrics: () => this.metrics.render(),
        metricsContentType: this.metrics.contentType,
        snapshot: async (camera, key, options) => (await cameras.snapshot(camera, key, options))?.jpeg,
        clip: (camera, trackId) => clips.find(camera, trackId),
        logger: log.child({ part: 'http' }),
      });
      await parts.start(this.http);
    }

    const load = loadOptions(config);
    engine = running.engine = new InferenceEngine({ modelPath, load, logger: log.child({ part: 'inference' }) });
    engine.on('restarted', (reason) => {
      this.inferenceProblem = `inference restarted: ${reason}`;
      this.metrics.workerRestarts.inc();
      this.stateChanged();
    });
    engine.on('loaded', () => {
      this.inferenceProblem = undefined;
      this.liveness.loaded();
      this.stateChanged();
    });
    this.systemd.status(`loading model ${modelPath}`);
    // A signal during the model load: stop() is already taking down what exists; start nothing more.
    const model = engine;
    if (!(await parts.start({ name: 'inference', start: () => model.start(), stop: () => model.stop(), degraded: () => [this.inferenceProblem, this.liveness.failing()].filter((r): r is string => r !== undefined) }))) return;
    const info = model.info!;
    log.info({ model: info.meta.name, version: info.meta.version, provider: info.provider, skipped: info.skippedProviders.map((s) => `${s.provider}: ${s.reason}`) }, 'model loaded');
    this.metrics.setInfo({ version: KESTREL_VERSION, device: config.device.id, model: info.meta.name ?? 'model', modelVersion: info.meta.version ?? '0', provider: info.provider });

    await logFfmpegChoice(ffmpeg, log);
    // Before the cameras, so it stops after them: their last ends still get clips (ClipsPart).
    await parts.start(clips);
    await parts.start({ name: 'cameras', start: () => cameras.startAll(config.cameras), stop: () => cameras.stopAll(), degraded: () => cameras.degraded() });

    if (config.homeassistant.enabled) {
      homeAssistant = new HomeAssistantBridge({
        link,
        topics: deviceTopics,
        device: { name: config.device.name, version: KESTREL_VERSION },
        cameras,
        labels: config.homeassistant.labels,
        logger: log.child({ part: 'homeassistant' }),
        // A camera switched back on has had no frame through for as long as it was off: the watchdog starts counting now.
        onDetectionChanged: (_camera, on) => {
          if (on) this.progressSince = Date.now();
        },
      });
      await parts.start(homeAssistant);
    }

    let shadow: ShadowRunner | undefined;
    if (config.update.enabled) {
      const recentFrames = () => cameras.recentFrames();
      const counters = () => this.updateCounters.totals();
      const updates = new AgentUpdates({ config, mqttUrl: this.mqttUrl, configuredModelPath, engine: model, load, recentFrames, counters, logger: log.child({ part: 'update' }) });
      await parts.start(updates);
      if (config.update.shadow.enabled) {
        const u = config.update;
        // Before the loop, so the loop has it to offer frames to; it runs nothing until the hub sends an order.
        shadow = new ShadowRunner({
          deviceId: config.device.id,
          prefix: m.prefix,
          stateDir: config.stateDir,
          reportIntervalS: u.shadow.reportIntervalS,
          trusted: () => updates.trusted(),
          agentVersion: KESTREL_VERSION,
          link,
          load,
          download: { ...u.download, ...(u.hubToken ? { headers: { authorization: `Bearer ${u.hubToken}` } } : {}) },
          current: () => model.info,
          minScore: (camera) => cameras.configs().find((c) => c.name === camera)?.filters.minScore ?? 0,
          metrics: this.metrics,
          logger: log.child({ part: 'shadow' }),
        });
        await parts.start(shadow);
      }
    }

    // Before the loop, so it sees the first frame the model answers.
    const drift = (running.drift = new DriftMonitor({
      config: config.drift,
      deviceId: config.device.id,
      topics: deviceTopics,
      link,
      sampler,
      model: () => model.info,
      minScore: (camera) => cameras.configs().find((c) => c.name === camera)?.filters.minScore ?? 0,
      stateDir: config.stateDir,
      metrics: this.metrics,
      logger: log.child({ part: 'drift' }),
    }));
    await parts.start(drift);

    this.loop = new InferenceLoop({
      engine: model,
      scheduler: this.scheduler,
      isCurrent: (pipeline) => cameras.isCurrent(pipeline),
      liveness: this.liveness,
      counters: this.updateCounters,
      latency: this.inferenceMs,
      metrics: this.metrics,
      sampler,
      ...(config.drift.enabled && { drift }),
      ...(shadow && { shadow }),
      logger: log.child({ part: 'inference' }),
    });
    await parts.start(this.loop);
    await parts.start(telemetry);
    this.reloader = new Reloader({
      config,
      reloadConfig: deps.reloadConfig,
      watchPath: deps.watchPath,
      cameras,
      metrics: this.metrics,
      systemd: this.systemd,
      logger: log.child({ part: 'reload' }),
      running: () => !this.stopping && model.info !== undefined,
      onReloaded: (applied) => {
        if (applied) this.progressSince = Date.now();
        // Cameras added or removed: their entities come or go (an empty retained config removes one).
        if (applied) homeAssistant?.sync();
        // Removed cameras' drift states and retained drift messages go.
        if (applied) drift.keepOnly(cameras.names());
        this.stateChanged();
      },
    });
    await parts.start(this.reloader);

    this.progressSince = Date.now();
    this.systemd.ready();
    log.info({ cameras: cameras.names(), mqtt: redactUrl(this.mqttUrl), parts: parts.names() }, 'agent started');
  }

  /**
   * Stops every part in reverse start order, within a bounded time: reloads and telemetry end,
   * no new frames are taken, frames already in the worker finish and their events are queued, the
   * cameras' sources stop and their open tracks end, the outbox is flushed for as long as the
   * broker takes events (up to half of `timeoutMs`), then MQTT says offline, the worker and
   * SQLite close. Calling it again returns the same promise.
   */
  stop(timeoutMs = 8000): Promise<void> {
    this.stopping ??= (async () => {
      this.systemd.stopping();
      await this.parts.stop(timeoutMs);
      this.deps.logger.info('agent stopped');
    })();
    return this.stopping;
  }

  /** Reads the configuration again and applies what can change live (see Reloader). */
  reload(why?: string): Promise<ReloadResult> {
    return this.reloader?.reload(why) ?? Promise.resolve({ ok: false, error: 'the agent is not running' });
  }

  get modelInfo(): ModelInfo | undefined {
    return this.running.engine?.info;
  }

  /** The address /healthz and /metrics are served on, once started. */
  get httpAddress(): { host: string; port: number } | undefined {
    return this.http?.address;
  }

  /** Sections changed in the config since start that a reload could not apply. */
  get pendingRestart(): readonly string[] {
    return this.reloader?.pendingRestart ?? [];
  }

  /** The /healthz document: 200 only while every enabled camera streams and inference answers. */
  health(): HealthReport {
    return this.status!.health();
  }

  /** Why the device runs below par: every part's own reasons, then the reload's. */
  degradedReasons(): string[] {
    return [...this.parts.degraded(), ...(this.reloader?.degraded() ?? [])];
  }

  private stateChanged(): void {
    // While stopping, the mqtt part sends the one final state (see start()).
    if (this.parts.stopped) return;
    this.telemetry?.publishState();
    // Before the cameras exist the STATUS line would say nothing useful ("loading model" stands).
    if (this.loop && this.status) this.systemd.status(this.status.liveness(this.systemd.watchdogMs ?? Number.POSITIVE_INFINITY).status);
  }
}

/** How the worker loads a model: the config's providers and threads, metadata the model may lack. */
function loadOptions(config: AgentConfig): LoadOptions {
  const m = config.model;
  const overrides: Partial<KestrelMetadata> = {};
  if (m.decoder) overrides.decoder = m.decoder;
  if (m.labels) overrides.labels = m.labels;
  if (m.inputSize) overrides.input = defaultInputSpec(m.inputSize[0], m.inputSize[1]);
  return { providers: m.providers, threads: m.threads, overrides, cacheDir: join(config.stateDir, 'engine-cache') };
}

export type { Detection };

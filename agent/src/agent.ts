import { dirname, join } from 'node:path';
import { setImmediate as setImmediateAsync } from 'node:timers/promises';
import {
  BUNDLED_MODEL_PATH, KESTREL_VERSION, outgoing, topics, redactUrl, isKestrelError,
  type CameraStatus, type Detection, type Logger, type DeviceTopics, type Stats,
} from '@kestrel/core';
import { defaultInputSpec } from '@kestrel/core/model/metadata';
import type { AgentConfig, CameraConfig } from '@kestrel/config';
import { parseBind } from '@kestrel/config';
import { InferenceEngine } from './inference/engine.js';
import { PrefetchPacer } from './inference/prefetch-pacer.js';
import { Sampler } from './sampling/index.js';
import { ModelUpdater, MqttUpdateChannel, InferenceCounters } from './update/index.js';
import type { ModelInfo } from './inference/protocol.js';
import { MqttLink } from './publish/mqtt-link.js';
import { Outbox, type OutboxLimits } from './publish/outbox.js';
import { EventPublisher } from './publish/event-publisher.js';
import { EmbeddedBroker, isListening } from './broker/embedded.js';
import { FrameScheduler, type Frame } from './source/index.js';
import { CameraRuntime, type Emit } from './pipeline/camera-runtime.js';
import { LatencyWindow } from './stats/latency-window.js';
import { buildDeviceState } from './state/device-state.js';
import { AgentMetrics, type MetricsSnapshot } from './metrics/agent-metrics.js';
import { samplesSnapshot, statsSamples } from './metrics/sample-counters.js';
import { HealthServer } from './health/server.js';
import { buildHealthReport, type HealthReport } from './health/report.js';
import { InferenceLiveness, type InferenceCheck } from './health/inference-liveness.js';
import { createNotifier } from './systemd/sd-notify.js';
import { SystemdService, type Liveness } from './systemd/service.js';
import { watchdogLiveness } from './systemd/liveness.js';
import { checkModelFile, folderProblem } from './util/preflight.js';
import { ConfigWatcher } from './reload/config-watcher.js';
import { FailureLog } from './inference/failure-log.js';
import { planReload, type ReloadPlan } from './reload/plan.js';

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

export interface ReloadResult {
  ok: boolean;
  /** Why the reload was refused or failed (the agent keeps running the previous config). */
  error?: string;
  plan?: ReloadPlan;
}

/**
 * The agent's one owner: builds every part, starts them in order, stops them in reverse, and
 * applies reloads. Nothing else starts or stops anything (zigbee2mqtt's controller is the model).
 */
export class Agent {
  private broker?: EmbeddedBroker;
  private outbox?: Outbox;
  private link?: MqttLink;
  private publisher?: EventPublisher;
  private engine?: InferenceEngine;
  /** Active learning: keeps uncertain frames and delivers them to the hub (off by default). */
  private sampler?: Sampler;
  /** Fleet model updates (signed manifests from the hub); off unless `update.enabled`. */
  private updater?: ModelUpdater;
  private updateChannel?: MqttUpdateChannel;
  private readonly updateCounters = new InferenceCounters();
  /** The newest frame per camera: what a new model is smoke-tested on before it serves. */
  private readonly lastFrames = new Map<string, Frame>();
  private http?: HealthServer;
  private systemd?: SystemdService;
  private watcher?: ConfigWatcher;
  private readonly scheduler = new FrameScheduler();
  private readonly cameras = new Map<string, CameraRuntime>();
  /** Which runtime produced a frame: after a reload, frames of a replaced camera are not processed by its successor. */
  private readonly frameOwners = new WeakMap<Frame, CameraRuntime>();
  private readonly inferenceMs = new LatencyWindow(512);
  private readonly answers = new InferenceLiveness();
  private readonly failureLog: FailureLog;
  readonly metrics: AgentMetrics;
  private loop?: Promise<void>;
  private readonly abort = new AbortController();
  private statsTimer?: NodeJS.Timeout;
  private stateTimer?: NodeJS.Timeout;
  private startedAt = Date.now();
  private lastStatsAt = Date.now();
  /** Progress the systemd watchdog counts from: readiness and reloads give cameras time to connect. */
  private progressSince = 0;
  private stopping?: Promise<void>;
  private reloads: Promise<unknown> = Promise.resolve();
  private topics!: DeviceTopics;
  /** The configuration the agent runs: the start-up one, with the cameras of the last reload. */
  private running: AgentConfig;
  // Reasons for `degraded`, each owned by one concern.
  private inferenceProblem?: string;
  private outboxProblem?: string;
  private httpProblem?: string;
  private reloadProblem?: string;
  private readonly cameraProblems = new Map<string, string>();
  private needsRestart: string[] = [];
  mqttUrl = '';
  /** The address /healthz and /metrics are served on, once started. */
  httpAddress?: { host: string; port: number };

  constructor(
    private readonly config: AgentConfig,
    private readonly deps: AgentDeps,
  ) {
    this.running = config;
    this.metrics = new AgentMetrics(() => this.metricsSnapshot());
    this.failureLog = new FailureLog(deps.logger);
  }

  get modelInfo(): ModelInfo | undefined {
    return this.engine?.info;
  }

  async start(): Promise<void> {
    const { config, deps } = this;
    const log = deps.logger;
    this.startedAt = Date.now();
    this.progressSince = this.startedAt;
    this.topics = topics(config.mqtt.prefix, config.device.id);
    // Before anything starts: a model that is not there is a configuration error (exit 2), not a retry.
    const configuredModelPath = config.model.path ?? BUNDLED_MODEL_PATH;
    checkModelFile(configuredModelPath, config.model.path !== undefined);
    // A model installed by a fleet update serves instead of the configured one (unless the config
    // now names another model, or the agent stopped while a new model was still being watched).
    const modelPath = config.update.enabled ? ModelUpdater.startupModel(config.stateDir, configuredModelPath) : configuredModelPath;
    this.systemd = new SystemdService({
      notifier: createNotifier({ env: deps.env, logger: log.child({ part: 'systemd' }) }),
      logger: log.child({ part: 'systemd' }),
      liveness: (withinMs) => this.liveness(withinMs),
      env: deps.env,
    });

    this.mqttUrl = config.mqtt.url;
    if (!deps.brokerConfigured && !(await isListening('127.0.0.1', 1883))) {
      this.broker = new EmbeddedBroker('127.0.0.1', 1883, log.child({ part: 'broker' }));
      await this.broker.start();
      this.mqttUrl = this.broker.url;
    }

    this.outbox = this.openOutbox();

    this.link = new MqttLink(
      {
        url: this.mqttUrl,
        clientId: config.mqtt.clientId,
        username: config.mqtt.username,
        password: config.mqtt.password,
        tls: config.mqtt.tls,
        keepaliveSeconds: config.mqtt.keepalive,
        reconnect: { minMs: config.mqtt.reconnect.minMs, maxMs: config.mqtt.reconnect.maxMs },
        topics: this.topics,
      },
      log.child({ part: 'mqtt' }),
    );
    this.publisher = new EventPublisher(this.outbox, this.link, log.child({ part: 'events' }));
    this.link.on('connected', () => this.publishState());
    // Connected before the model loads (seconds on a CPU, minutes for a TensorRT engine build):
    // events left in the outbox by the last run go out meanwhile, and the state says `model: null`.
    this.link.start();
    this.publisher.start();

    const link = this.link;
    this.sampler = new Sampler({
      config: config.sampling,
      deviceId: config.device.id,
      mqttPrefix: config.mqtt.prefix,
      logger: log.child({ part: 'sampler' }),
      publishAcked: (message) => link.publishAcked(message),
    });
    await this.sampler.start();

    // Up before the model loads, so a slow start (a TensorRT engine build) is visible as a 503.
    if (config.http.enabled) await this.startHttp();

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
      this.inferenceProblem = `inference restarted: ${reason}`;
      this.metrics.workerRestarts.inc();
      this.stateChanged();
    });
    this.engine.on('loaded', () => {
      this.inferenceProblem = undefined;
      this.answers.loaded();
      this.stateChanged();
    });
    this.systemd.status(`loading model ${modelPath}`);
    const info = await this.engine.start();
    // A signal during the model load: stop() is already taking down what exists; start nothing more.
    if (this.stopping) return;
    log.info({ model: info.meta.name, version: info.meta.version, provider: info.provider, skipped: info.skippedProviders.map((s) => `${s.provider}: ${s.reason}`) }, 'model loaded');
    this.metrics.setInfo({ version: KESTREL_VERSION, device: config.device.id, model: info.meta.name ?? 'model', modelVersion: info.meta.version ?? '0', provider: info.provider });

    for (const camera of config.cameras.filter((c) => c.enabled)) await this.startCamera(camera, 'throw');

    if (config.update.enabled) await this.startUpdater(configuredModelPath);

    this.loop = this.runInference();
    const statsMs = config.mqtt.statsIntervalSeconds * 1000;
    this.statsTimer = setInterval(() => this.publishStats(), statsMs);
    // The state carries per-camera fps: refresh it now and then even without state changes.
    this.stateTimer = setInterval(() => this.publishState(), Math.max(statsMs, 30_000));

    if (deps.watchPath) {
      this.watcher = new ConfigWatcher({ path: deps.watchPath, onChange: () => void this.reload('config file changed'), logger: log.child({ part: 'reload' }) });
      this.watcher.start();
    }
    this.progressSince = Date.now();
    this.systemd.ready();
    log.info({ cameras: [...this.cameras.keys()], mqtt: redactUrl(this.mqttUrl) }, 'agent started');
  }

  /** Listens for signed releases on `<prefix>/<device>/model/set` over its own MQTT connection. */
  private async startUpdater(configuredModelPath: string): Promise<void> {
    const { config, deps } = this;
    const log = deps.logger.child({ part: 'update' });
    this.updateChannel = new MqttUpdateChannel({ url: this.mqttUrl, clientId: `${config.mqtt.clientId}-update`, username: config.mqtt.username, password: config.mqtt.password, logger: log });
    this.updateChannel.start();
    const u = config.update;
    this.updater = new ModelUpdater({
      deviceId: config.device.id,
      prefix: config.mqtt.prefix,
      stateDir: config.stateDir,
      configuredModelPath,
      trustedKeys: u.trustedKeys,
      agentVersion: KESTREL_VERSION,
      engine: this.engine!,
      channel: this.updateChannel,
      recentFrames: () => [...this.lastFrames.values()],
      counters: () => this.updateCounters.totals(),
      load: { providers: config.model.providers, threads: config.model.threads, overrides: modelOverrides(config), cacheDir: join(config.stateDir, 'engine-cache') },
      smoke: u.smoke,
      health: stripUndefined(u.watch),
      download: { ...u.download, ...(u.hubToken ? { headers: { authorization: `Bearer ${u.hubToken}` } } : {}) },
      logger: log,
    });
    await this.updater.start();
  }

  /**
   * The event outbox on disk. When its folder cannot be written (a read-only or full SD card, wrong
   * ownership) the agent keeps detecting with the outbox in memory and says so in `degraded`:
   * exiting would leave the site blind, and a restart would not fix the disk. Nothing is lost
   * while the process lives; what is still queued when it stops is.
   */
  private openOutbox(): Outbox {
    const { config, deps } = this;
    const limits: OutboxLimits = { maxEvents: config.outbox.maxEvents, maxBytes: config.outbox.maxBytes, maxAgeMs: config.outbox.maxAgeHours * 3600_000 };
    const log = deps.logger.child({ part: 'outbox' });
    const path = config.outbox.path;
    const outbox = new Outbox(path, limits, log);
    try {
      outbox.open();
      return outbox;
    } catch (err) {
      if (!isKestrelError(err) || err.code !== 'E_STATE_DIR') throw err;
      const why = folderProblem(dirname(path)) ?? (err as Error).message;
      this.outboxProblem = `state dir ${dirname(path)} ${why}: events are queued in memory only and are lost if the agent stops before the broker takes them`;
      log.error({ path, problem: why }, 'cannot keep events on disk; using an in-memory outbox');
      const memory = new Outbox(':memory:', limits, log);
      memory.open();
      return memory;
    }
  }

  private async startHttp(): Promise<void> {
    const log = this.deps.logger.child({ part: 'http' });
    const { host, port } = parseBind(this.config.http.bind);
    const server = new HealthServer({
      host,
      port,
      health: () => this.health(),
      metrics: () => this.metrics.render(),
      metricsContentType: this.metrics.contentType,
      logger: log,
    });
    try {
      const address = await server.start();
      this.http = server;
      this.httpAddress = { host: address.address, port: address.port };
    } catch (err) {
      // Detection does not need the endpoint: run without it and say why.
      this.httpProblem = (err as Error).message;
      log.error({ err: this.httpProblem }, 'health endpoint not started');
    }
  }

  private async startCamera(camera: CameraConfig, onError: 'throw' | 'record'): Promise<void> {
    const info = this.engine!.info!;
    let runtime: CameraRuntime;
    try {
      runtime = new CameraRuntime(camera, {
        input: info.meta.input,
        deviceId: this.config.device.id,
        prefix: this.config.mqtt.prefix,
        modelVersion: () => this.engine?.info?.meta.version ?? '0',
        logger: this.deps.logger.child({ camera: camera.name }),
        onFrame: (frame) => {
          this.frameOwners.set(frame, runtime);
          this.lastFrames.set(camera.name, frame);
          this.metrics.framesIn.inc({ camera: camera.name });
          this.scheduler.push(frame);
        },
        onStateChange: () => this.stateChanged(),
      });
    } catch (err) {
      if (onError === 'throw') throw err;
      this.cameraProblems.set(camera.name, `camera ${camera.name} not started: ${(err as Error).message}`);
      this.deps.logger.error({ camera: camera.name, err: (err as Error).message }, 'camera not started');
      return;
    }
    this.cameraProblems.delete(camera.name);
    this.cameras.set(camera.name, runtime);
    await runtime.start();
  }

  /** Stops one camera: its source, its open tracks (their `end` events go out), its frame slot. */
  private async stopCamera(name: string): Promise<void> {
    this.cameraProblems.delete(name);
    const runtime = this.cameras.get(name);
    if (!runtime) return;
    await runtime.stop();
    runtime.flush(this.emitFor(name));
    // The last look at its totals, before another runtime takes the name.
    this.metrics.refresh();
    if (this.scheduler.stats()[name]?.pending) this.metrics.framesDropped.inc({ camera: name, reason: 'stopped' });
    this.scheduler.removeCamera(name);
    this.cameras.delete(name);
  }

  /**
   * The inference loop, cameras served in turn. The worker holds the running frame and, sent just
   * before that one is expected to end (PrefetchPacer), the next: it never idles for a round trip,
   * and the next frame is as fresh as it can be. A frame's place is freed as soon as the worker
   * answers, and its tracking and publishing wait until the next frame is on its way.
   */
  private async runInference(): Promise<void> {
    const engine = this.engine!;
    const pacer = new PrefetchPacer();
    const inWorker: Promise<void>[] = [];
    const finishing = new Set<Promise<void>>();
    while (!this.abort.signal.aborted) {
      if (inWorker.length >= engine.maxInFlight) {
        await Promise.race(inWorker);
        continue;
      }
      if (inWorker.length > 0) {
        const dueInMs = pacer.prefetchInMs();
        if (dueInMs === undefined || dueInMs > 0) {
          await raceDelay(Promise.race(inWorker), dueInMs);
          continue;
        }
      }
      const frame = await this.scheduler.wait(this.abort.signal);
      if (!frame) break;
      if (inWorker.length === 0) pacer.started();
      let release!: (ok: boolean) => void;
      const answered = new Promise<boolean>((resolve) => (release = resolve)).then((ok) => {
        inWorker.splice(inWorker.indexOf(answered), 1);
        if (ok) pacer.finished();
        else pacer.reset();
        // The frame sent ahead starts now.
        if (inWorker.length > 0) pacer.started();
      });
      inWorker.push(answered);
      const done = this.process(engine, frame, release).finally(() => {
        release(false);
        finishing.delete(done);
      });
      finishing.add(done);
    }
    await Promise.allSettled(finishing);
  }

  /** One frame through inference, then its camera's tracking and publishing. `answered(ok)` is called when the worker answers. */
  private async process(engine: InferenceEngine, frame: Frame, answered: (ok: boolean) => void): Promise<void> {
    const runtime = this.frameOwners.get(frame);
    const current = () => runtime !== undefined && this.cameras.get(frame.camera) === runtime;
    if (!current()) {
      this.metrics.framesDropped.inc({ camera: frame.camera, reason: 'stopped' });
      return;
    }
    const token = this.answers.begin();
    try {
      const result = await engine.infer(frame.data, frame.geometry, { scoreThreshold: runtime!.scoreThreshold });
      this.answers.answered(token);
      answered(true);
      // Let the loop hand the next frame to the worker first (a few microtasks), then do this one's work.
      await setImmediateAsync();
      this.inferenceMs.add(result.inferenceMs);
      this.metrics.inferenceSeconds.observe(result.inferenceMs / 1000);
      // The camera was stopped or replaced (reload) while its frame was in the worker.
      if (!current()) {
        this.metrics.framesDropped.inc({ camera: frame.camera, reason: 'stopped' });
        return;
      }
      runtime!.handleDetections(frame, result.detections, result.inferenceMs, this.emitFor(frame.camera));
      this.sampler?.consider(frame, result.detections, this.engine?.info?.meta.version ?? '0');
      this.updateCounters.ok(frame.camera, result.detections.length, result.inferenceMs);
      this.answers.processed();
      this.metrics.framesProcessed.inc({ camera: frame.camera });
      this.metrics.endToEndSeconds.observe({ camera: frame.camera }, (Date.now() - frame.capturedAt) / 1000);
    } catch (err) {
      const code = isKestrelError(err) ? err.code : '';
      // An error reply is still an answer: the worker lives. Restarting/stopped means it did not answer.
      if (code === 'E_INFERENCE_RESTARTING' || code === 'E_INFERENCE_STOPPED') this.answers.failed(token);
      else this.answers.answered(token);
      runtime!.countFailed();
      this.updateCounters.failed(frame.camera);
      this.metrics.framesDropped.inc({ camera: frame.camera, reason: 'inference_failed' });
      // Restarting/stopped are the worker's lifecycle, logged where it happens.
      if (code !== 'E_INFERENCE_RESTARTING' && code !== 'E_INFERENCE_STOPPED') this.failureLog.note(code || 'E_INFERENCE', frame.camera, (err as Error).message);
    }
  }

  /** Events go through the durable outbox; per-frame detections are QoS 0 telemetry. */
  private emitFor(camera: string): Emit {
    return (message) => {
      if (message.kind === 'events') {
        this.publisher!.enqueue(message);
        const event = JSON.parse(message.payload.toString()) as { id: string; type: string };
        this.metrics.events.inc({ camera, type: event.type });
        // The agent's own record of every event it accepted (fault tests compare it with what arrived).
        this.deps.logger.debug({ camera, id: event.id, type: event.type }, 'event queued');
      } else if (this.config.mqtt.publishDetections) this.link!.publishIfConnected(message);
    };
  }

  // ----------------------------------------------------------------------------- reload

  /**
   * Reads the configuration again and applies what can change live: cameras added, removed or
   * changed (only the changed ones restart). Other changes are reported as needing a restart.
   * A config that does not load leaves the agent running as it was. Reloads run one at a time.
   */
  reload(why = 'reload requested'): Promise<ReloadResult> {
    const next = this.reloads.then(() => this.applyReload(why));
    this.reloads = next.catch(() => undefined);
    return next;
  }

  private async applyReload(why: string): Promise<ReloadResult> {
    const log = this.deps.logger.child({ part: 'reload' });
    if (this.stopping || !this.engine?.info) return { ok: false, error: 'the agent is not running' };
    if (!this.deps.reloadConfig) return { ok: false, error: 'this agent was started without a way to read its config again' };
    log.info({ why }, 'reloading the configuration');
    this.systemd?.reloading();
    let next: AgentConfig;
    try {
      next = this.deps.reloadConfig();
    } catch (err) {
      const message = (err as Error).message;
      this.reloadProblem = `config reload failed, still running the previous config: ${message.split('\n').join(' ')}`;
      log.error({ err: message }, 'config reload failed; the previous config stays in force');
      this.metrics.configReloads.inc({ result: 'failed' });
      this.stateChanged();
      this.systemd?.reloaded();
      return { ok: false, error: message };
    }
    this.reloadProblem = undefined;
    const plan = planReload(this.running, next);
    for (const name of plan.remove) await this.stopCamera(name);
    for (const camera of plan.restart) {
      await this.stopCamera(camera.name);
      await this.startCamera(camera, 'record');
    }
    for (const camera of plan.add) await this.startCamera(camera, 'record');
    // Only the cameras are taken from the new config; every other section stays as started.
    this.running = { ...this.running, cameras: next.cameras };
    this.needsRestart = plan.needsRestart;
    this.progressSince = Date.now();
    log.info({ added: plan.add.map((c) => c.name), removed: plan.remove, restarted: plan.restart.map((c) => c.name), unchanged: plan.unchanged }, 'config reloaded');
    if (this.needsRestart.length) log.warn({ sections: this.needsRestart }, 'changes to these sections take effect after a restart');
    this.metrics.configReloads.inc({ result: 'ok' });
    this.stateChanged();
    this.systemd?.reloaded();
    return { ok: true, plan };
  }

  // ----------------------------------------------------------------------------- state

  cameraStatuses(): Record<string, CameraStatus> {
    return Object.fromEntries([...this.cameras].map(([name, rt]) => [name, rt.cameraStatus()]));
  }

  private stateChanged(): void {
    this.publishState();
    // Before the cameras exist the STATUS line would say nothing useful ("loading model" stands).
    if (this.loop) this.systemd?.status(this.liveness(this.systemd.watchdogMs ?? Number.POSITIVE_INFINITY).status);
  }

  private publishState(): void {
    if (!this.link) return;
    const state = buildDeviceState({ deviceId: this.config.device.id, startedAt: this.startedAt, model: this.engine?.info, cameras: this.cameraStatuses(), degraded: this.degradedReasons() });
    this.link.publishIfConnected(outgoing(this.topics, 'state', state));
  }

  degradedReasons(): string[] {
    const reasons: string[] = [];
    for (const r of [this.inferenceProblem, this.outboxProblem, this.httpProblem, this.reloadProblem]) if (r) reasons.push(r);
    reasons.push(...this.cameraProblems.values());
    if (this.needsRestart.length) reasons.push(`needs restart: changes to ${this.needsRestart.join(', ')} in the config take effect after a restart`);
    for (const [name, rt] of this.cameras) {
      const s = rt.cameraStatus();
      if (s.state === 'failed' || s.state === 'stalled') reasons.push(`camera ${name} ${s.state}${s.lastError ? `: ${s.lastError}` : ''}`);
      // Between retries an outage passes through `connecting`: still degraded, not a fresh start.
      else if (s.state === 'connecting' && s.lastError) reasons.push(`camera ${name} reconnecting after: ${s.lastError}`);
    }
    return reasons;
  }

  /** Sections changed in the config since start that a reload could not apply. */
  get pendingRestart(): readonly string[] {
    return this.needsRestart;
  }

  private inferenceCheck(now = Date.now()): InferenceCheck {
    const framesFlowing = [...this.cameras.values()].some((rt) => rt.source.status().state === 'streaming');
    return this.answers.check({ now, ready: this.engine?.ready === true, framesFlowing });
  }

  /** The /healthz document: 200 only while every enabled camera streams and inference answers. */
  health(): HealthReport {
    const now = Date.now();
    const outbox = this.outbox?.stats();
    return buildHealthReport({
      now,
      deviceId: this.config.device.id,
      startedAt: this.startedAt,
      cameras: [...this.cameras].map(([name, rt]) => {
        const s = rt.source.status();
        return { name, state: s.state, lastError: s.lastError, since: s.since, lastFrameAt: s.lastFrameAt, restarts: s.counters.restarts };
      }),
      inference: { ...this.inferenceCheck(now), provider: this.engine?.info?.provider, restarts: this.engine?.restarts ?? 0 },
      mqtt: { connected: this.link?.connected === true, reconnects: Math.max(0, (this.link?.stats.connects ?? 0) - 1), telemetryDropped: this.link?.stats.telemetryDropped ?? 0 },
      outbox: outbox && { depth: outbox.depth, bytes: outbox.bytes, dropped: outbox.droppedEvents, durable: this.outboxProblem === undefined },
      degraded: this.degradedReasons(),
    });
  }

  /** For the systemd watchdog and its STATUS= line (the rule is in systemd/liveness.ts). */
  private liveness(withinMs: number): Liveness {
    const now = Date.now();
    return watchdogLiveness({
      now,
      withinMs,
      inference: this.inferenceCheck(now),
      cameras: [...this.cameras].map(([name, rt]) => ({ name, state: rt.source.status().state })),
      lastProgressAt: Math.max(this.answers.lastProcessedAt, this.progressSince),
      mqttConnected: this.link?.connected === true,
      outboxDepth: this.outbox?.depth ?? 0,
    });
  }

  private metricsSnapshot(): MetricsSnapshot {
    const queues = this.scheduler.stats();
    const outbox = this.outbox?.stats();
    return {
      cameras: [...this.cameras].map(([name, rt]) => {
        const s = rt.source.status();
        return { name, owner: rt, state: s.state, sourceRestarts: s.counters.restarts, framesSuperseded: queues[name]?.dropped ?? 0 };
      }),
      inferenceUp: this.inferenceCheck().alive,
      ...(outbox && this.outbox ? { outbox: { depth: outbox.depth, bytes: outbox.bytes, droppedBudget: outbox.droppedByReason.count, droppedAge: outbox.droppedByReason.age, owner: this.outbox } } : {}),
      ...(this.link ? { mqtt: { connected: this.link.connected, reconnects: Math.max(0, this.link.stats.connects - 1), telemetryDropped: this.link.stats.telemetryDropped, owner: this.link } } : {}),
      ...(this.publisher ? { eventsPublished: { total: this.publisher.published, owner: this.publisher } } : {}),
      ...(this.sampler ? { samples: samplesSnapshot(this.sampler) } : {}),
    };
  }

  statsSnapshot(): Stats {
    const now = Date.now();
    const intervalSeconds = Math.max(0.001, (now - this.lastStatsAt) / 1000);
    this.lastStatsAt = now;
    const queues = this.scheduler.stats();
    const cameras = Object.fromEntries([...this.cameras].map(([name, rt]) => [name, rt.takeStats(intervalSeconds, queues[name]?.pending ? 1 : 0, queues[name]?.dropped ?? 0)]));
    const outbox = this.outbox!.stats();
    const samples = this.sampler && samplesSnapshot(this.sampler);
    const stats: Stats = {
      schema: 1,
      deviceId: this.config.device.id,
      at: now,
      intervalSeconds: Math.round(intervalSeconds * 1000) / 1000,
      uptimeSeconds: Math.round((now - this.startedAt) / 1000),
      inference: { ms: this.inferenceMs.percentiles(), queue: this.scheduler.pendingCount, provider: this.engine?.info?.provider },
      cameras,
      outbox: { depth: outbox.depth, dropped: outbox.droppedEvents },
      ...(samples?.enabled ? { samples: statsSamples(samples) } : {}),
    };
    this.inferenceMs.reset();
    return stats;
  }

  private publishStats(): void {
    this.link?.publishIfConnected(outgoing(this.topics, 'stats', this.statsSnapshot()));
  }

  // ------------------------------------------------------------------------------ stop

  /**
   * Stops everything in reverse order, within a bounded time: sources first (no new frames),
   * frames already in the worker finish and their events are queued, open tracks end, the
   * outbox is flushed for as long as the broker takes events (up to half of `timeoutMs`), then
   * MQTT says offline, the worker and SQLite close. Calling it again returns the same promise.
   */
  stop(timeoutMs = 8000): Promise<void> {
    this.stopping ??= this.stopParts(timeoutMs);
    return this.stopping;
  }

  private async stopParts(timeoutMs: number): Promise<void> {
    const log = this.deps.logger;
    this.systemd?.stopping();
    this.watcher?.stop();
    clearInterval(this.statsTimer);
    clearInterval(this.stateTimer);
    await this.reloads;
    await Promise.allSettled([...this.cameras.values()].map((c) => c.stop()));
    this.abort.abort();
    this.scheduler.close();
    await Promise.race([this.loop, new Promise((r) => setTimeout(r, 2000))]);
    // Tracks still open end now, so consumers see every object's `end`.
    for (const [name, rt] of this.cameras) rt.flush(this.emitFor(name));
    this.publishState();
    const flushed = await this.publisher?.flush(Math.max(500, timeoutMs / 2));
    if (flushed === false) log.warn({ depth: this.outbox?.depth, durable: this.outboxProblem === undefined }, 'events left in the outbox for the next start');
    this.publisher?.stop();
    await this.sampler?.stop();
    await this.updater?.stop();
    await this.updateChannel?.stop();
    await this.link?.stop();
    await this.engine?.stop();
    this.outbox?.close();
    await this.http?.stop();
    await this.broker?.stop();
    this.systemd?.close();
    log.info('agent stopped');
  }
}

/** Config leaves unset fields undefined; policy defaults apply only to absent keys. */
function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

function modelOverrides(config: AgentConfig): Partial<import('@kestrel/core').KestrelMetadata> {
  const m = config.model;
  const o: Partial<import('@kestrel/core').KestrelMetadata> = {};
  if (m.decoder) o.decoder = m.decoder;
  if (m.labels) o.labels = m.labels;
  if (m.inputSize) o.input = defaultInputSpec(m.inputSize[0], m.inputSize[1]);
  return o;
}

export type { Detection };

/** `promise`, or `ms` elapsing first (never, when `ms` is undefined). */
function raceDelay(promise: Promise<unknown>, ms: number | undefined): Promise<unknown> {
  if (ms === undefined) return promise;
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([promise, new Promise((resolve) => (timer = setTimeout(resolve, ms)))]).finally(() => clearTimeout(timer));
}

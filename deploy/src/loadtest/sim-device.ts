import { createHash } from 'node:crypto';
import mqtt, { type MqttClient } from 'mqtt';
import {
  checkManifest, outgoing, parsePayload, subscription, subscriptionMap, topics,
  type DeviceState, type DeviceTopics, type ModelRef, type ModelState, type ModelUpdateStatus, type ReleaseManifest, type Sample, type Stats, type TrustedKeys,
} from '@kestrel/core';
import { RATES, SIM_WATCH_MS } from './options.js';
import type { Ledger, SentSample } from './ledger.js';

export interface SimModel extends ModelRef {
  release: number;
  inputSize: [number, number];
}

export interface SimDeviceOptions {
  deviceId: string;
  prefix: string;
  brokerUrl: string;
  /** The hub's HTTP address (the load balancer). */
  hubUrl: string;
  token: string;
  trusted: TrustedKeys;
  model: SimModel;
  /** The sample JPEG, base64, and its size. */
  jpeg: { base64: string; width: number; height: number };
  ledger: Ledger;
}

const AGENT_VERSION = '0.1.0';
const CAMERA = 'cam1';
/** Samples one device keeps waiting for upload; more are dropped and counted (the agent's buffer is bounded too). */
const UPLOAD_QUEUE = 100;
const UPLOAD_TIMEOUT_MS = 30_000;

/**
 * One simulated device: its own MQTT client (last will on `status`, the retained `state` and
 * `model/state`, events, stats, samples) and an HTTP sample uploader, at RATES. It answers a
 * `model/set` as the agent's updater does, minus ONNX Runtime: checks the manifest (signatures,
 * expiry, sequence, downgrade) with core's checkManifest, downloads the artifact from the hub
 * with its token and verifies size and SHA-256, then reports `downloading`, `testing`, `applied`
 * (health `watching`) and after SIM_WATCH_MS `applied` with health `passed`, and its new state.
 */
export class SimDevice {
  private client?: MqttClient;
  private readonly t: DeviceTopics;
  private readonly timers: NodeJS.Timeout[] = [];
  private readonly startedAt = Date.now();
  private current: SimModel;
  private previous: ModelRef | null = null;
  private lastSequence = 0;
  private applying?: number;
  private modelStatus: { status: ModelUpdateStatus; reason?: string; health?: 'watching' | 'passed'; watchUntil?: number } = { status: 'idle' };
  private seq = 0;
  private readonly uploads: { sample: Sample; entry: SentSample }[] = [];
  private uploading?: Promise<void>;
  private stopped = false;

  constructor(private readonly o: SimDeviceOptions) {
    this.t = topics(o.prefix, o.deviceId);
    this.current = o.model;
  }

  get model(): SimModel {
    return this.current;
  }

  /** Connects; resolves once the first connect's retained messages are out. */
  start(): Promise<void> {
    const will = outgoing(this.t, 'status', 'offline');
    const client = mqtt.connect(this.o.brokerUrl, {
      clientId: `${this.o.prefix}-${this.o.deviceId}`,
      clean: true,
      keepalive: 60,
      reconnectPeriod: 1000,
      connectTimeout: 30_000,
      will: { topic: will.topic, payload: Buffer.from(will.payload as string), qos: will.qos, retain: will.retain },
    });
    this.client = client;
    client.on('message', (topic, payload) => {
      if (topic === this.t.modelSet) void this.onManifest(payload);
    });
    client.on('error', () => undefined); // reconnects by itself; a refused connect shows as a device that never came up
    return new Promise<void>((resolve) => {
      client.on('connect', () => {
        // A clean session: every connect announces the device again and subscribes again, as the agent's link does.
        void this.announce().then(resolve, resolve);
      });
    });
  }

  private async announce(): Promise<void> {
    const c = this.client!;
    const sub = subscriptionMap([subscription(this.o.prefix, 'modelSet', this.o.deviceId)]);
    await Promise.all([this.publish(outgoing(this.t, 'status', 'online')), this.publishState(), this.publishModelState(), c.subscribeAsync(sub)]);
  }

  /** Starts the timers, each at a random phase within its period. */
  startTraffic(): void {
    const every = (seconds: number, fn: () => void) => {
      const ms = seconds * 1000;
      const first = setTimeout(() => {
        fn();
        this.timers.push(setInterval(fn, ms));
      }, Math.random() * ms);
      this.timers.push(first);
    };
    every(RATES.eventEverySeconds, () => this.sendEvent());
    every(RATES.statsEverySeconds, () => this.sendStats());
    every(RATES.stateEverySeconds, () => void this.publishState());
    every(RATES.httpSampleEverySeconds, () => this.queueHttpSample());
    every(RATES.mqttSampleEverySeconds, () => this.sendMqttSample());
  }

  stopTraffic(): void {
    for (const t of this.timers) clearTimeout(t);
    this.timers.length = 0;
  }

  /** Waits until every queued HTTP sample was answered, or the deadline. */
  async drain(deadline: number): Promise<void> {
    while ((this.uploads.length > 0 || this.uploading) && Date.now() < deadline) await sleep(100);
  }

  /** Publishes the retained state once more, as the agent's 30 s timer would. */
  republishState(): Promise<void> {
    return this.publishState();
  }

  /** Disconnects as the agent does on stop: a retained `offline`, then a clean close (no will). */
  async stop(): Promise<void> {
    this.stopped = true;
    this.stopTraffic();
    const c = this.client;
    if (!c) return;
    if (c.connected) await this.publish(outgoing(this.t, 'status', 'offline')).catch(() => undefined);
    await c.endAsync(true).catch(() => undefined);
  }

  // ------------------------------------------------------------------ traffic

  private publish(message: { topic: string; payload: string | Buffer; qos: 0 | 1; retain: boolean }): Promise<unknown> {
    return this.client!.publishAsync(message.topic, message.payload, { qos: message.qos, retain: message.retain });
  }

  private publishState(): Promise<void> {
    const m = this.current;
    const state: DeviceState = {
      schema: 1,
      agentVersion: AGENT_VERSION,
      deviceId: this.o.deviceId,
      startedAt: this.startedAt,
      updatedAt: Date.now(),
      model: { name: m.name, version: m.version, sha256: m.sha256, decoder: 'yolov8', labelCount: 1, inputSize: m.inputSize, provider: 'cpu' },
      cameras: { [CAMERA]: { state: 'streaming', fps: 5 } },
      degraded: [],
    };
    this.o.ledger.counts.statesSent++;
    return this.publish(outgoing(this.t, 'state', state)).then(() => undefined, () => undefined);
  }

  private publishModelState(): Promise<void> {
    const m = this.current;
    const state: ModelState = {
      schema: 1,
      current: { name: m.name, version: m.version, sha256: m.sha256 },
      previous: this.previous,
      ...this.modelStatus,
      // The sequence acted on: the one being applied, else the last applied.
      ...((this.applying ?? this.lastSequence) > 0 ? { sequence: this.applying ?? this.lastSequence } : {}),
      release: m.release,
      updatedAt: Date.now(),
    };
    return this.publish(outgoing(this.t, 'modelState', state)).then(() => undefined, () => undefined);
  }

  private sendEvent(): void {
    const now = Date.now();
    const n = this.seq++;
    const type = (['new', 'update', 'end'] as const)[n % 3];
    const message = outgoing(this.t, 'events', {
      schema: 1,
      id: `${this.o.deviceId}-e${n}`,
      type,
      deviceId: this.o.deviceId,
      camera: CAMERA,
      trackId: `${this.o.deviceId}-t${Math.floor(n / 3)}`,
      label: 'thing',
      score: 0.8,
      box: [40, 30, 120, 110],
      zones: [],
      firstSeen: now - 2000,
      lastSeen: now,
      frameTime: now,
      modelVersion: this.current.version,
      ...(type === 'new' ? { reason: 'confirmed' } : type === 'end' ? { reason: 'lost' } : { reason: 'moved' }),
    });
    this.o.ledger.counts.eventsSent++;
    this.publish(message).then(() => this.o.ledger.counts.eventsAcked++, () => undefined);
  }

  private sendStats(): void {
    const now = Date.now();
    const frames = Math.round(((now - this.startedAt) / 1000) * 5);
    const stats: Stats = {
      schema: 1,
      deviceId: this.o.deviceId,
      at: now,
      intervalSeconds: RATES.statsEverySeconds,
      uptimeSeconds: (now - this.startedAt) / 1000,
      inference: { ms: { p50: 6, p99: 11 }, queue: 0, provider: 'cpu' },
      cameras: { [CAMERA]: { fpsIn: 5, fpsProcessed: 5, fpsDropped: 0, framesIn: frames, framesProcessed: frames, framesDropped: 0, latencyMs: { p50: 40, p99: 80 }, queue: 0 } },
      outbox: { depth: 0, dropped: 0 },
    };
    this.o.ledger.counts.statsSent++;
    this.publish(outgoing(this.t, 'stats', stats)).catch(() => undefined);
  }

  private newSample(transport: 'http' | 'mqtt'): { sample: Sample; entry: SentSample } {
    const { jpeg } = this.o;
    const id = `${transport}-${this.seq++}-${Date.now().toString(36)}`;
    const sample: Sample = {
      schema: 1,
      id,
      deviceId: this.o.deviceId,
      camera: CAMERA,
      capturedAt: Date.now(),
      reasons: ['uncertainty'],
      modelVersion: this.current.version,
      frameSize: [jpeg.width, jpeg.height],
      imageSize: [jpeg.width, jpeg.height],
      detections: [{ label: 'thing', score: 0.45, box: [20, 20, 80, 90] }],
      image: { contentType: 'image/jpeg', data: jpeg.base64 },
    };
    return { sample, entry: this.o.ledger.record(this.o.deviceId, id, transport) };
  }

  private sendMqttSample(): void {
    const { sample, entry } = this.newSample('mqtt');
    // QoS 1: mqtt.js keeps it until the broker's PUBACK, across reconnects.
    this.publish(outgoing(this.t, 'samples', sample)).then(
      () => (entry.acked = true),
      () => undefined,
    );
  }

  private queueHttpSample(): void {
    if (this.uploads.length >= UPLOAD_QUEUE) {
      this.o.ledger.counts.queueDrops++;
      return;
    }
    this.uploads.push(this.newSample('http'));
    this.uploading ??= this.uploadAll().finally(() => (this.uploading = undefined));
  }

  /** One upload at a time, oldest first; a failed one is tried again (same id) after a growing pause. */
  private async uploadAll(): Promise<void> {
    let delay = 250;
    while (this.uploads.length > 0) {
      const { sample, entry } = this.uploads[0];
      const started = performance.now();
      let outcome: 'ok' | 'retry' | 'rejected';
      let why = '';
      try {
        const res = await fetch(`${this.o.hubUrl}/api/v1/samples`, {
          method: 'POST',
          headers: { authorization: `Bearer ${this.o.token}`, 'content-type': 'application/json' },
          body: JSON.stringify({ samples: [sample] }),
          signal: AbortSignal.timeout(UPLOAD_TIMEOUT_MS),
        });
        const text = await res.text();
        if (res.ok) {
          const status = (JSON.parse(text) as { results?: { status?: string }[] }).results?.[0]?.status;
          if (status === 'duplicate') this.o.ledger.counts.httpDuplicates++;
          outcome = status === 'stored' || status === 'duplicate' ? 'ok' : 'rejected';
          why = `answer ${text.slice(0, 200)}`;
        } else {
          outcome = res.status >= 500 || res.status === 429 ? 'retry' : 'rejected';
          why = `HTTP ${res.status}: ${text.slice(0, 200)}`;
        }
      } catch (err) {
        outcome = 'retry';
        why = (err as Error).message;
      }
      if (outcome === 'ok') {
        this.o.ledger.httpMs.push(performance.now() - started);
        entry.acked = true;
      } else if (outcome === 'rejected') {
        entry.rejected = why;
      } else {
        this.o.ledger.counts.httpRetries++;
        if (this.stopped) return;
        await sleep(delay);
        delay = Math.min(delay * 2, 5000);
        continue;
      }
      delay = 250;
      this.uploads.shift();
    }
  }

  // ------------------------------------------------------------------ updates

  private async onManifest(payload: Buffer): Promise<void> {
    let manifest: ReleaseManifest;
    try {
      manifest = parsePayload('modelSet', payload);
    } catch (err) {
      this.modelStatus = { status: 'rejected', reason: (err as Error).message };
      return this.publishModelState();
    }
    // A retained manifest comes again on every reconnect; the one being applied is not a second update.
    if (manifest.sequence === this.lastSequence || manifest.sequence === this.applying) return;
    if (this.applying !== undefined) return; // the agent queues one; a load test sends one rollout
    try {
      checkManifest(manifest, { trusted: this.o.trusted, now: Date.now(), lastSequence: this.lastSequence, currentRelease: this.current.release, agentVersion: AGENT_VERSION });
    } catch (err) {
      this.o.ledger.counts.updatesRejected++;
      this.modelStatus = { status: 'rejected', reason: (err as Error).message };
      return this.publishModelState();
    }
    this.applying = manifest.sequence;
    try {
      this.modelStatus = { status: 'downloading' };
      await this.publishModelState();
      const bytes = await this.download(manifest);
      const sha = createHash('sha256').update(bytes).digest('hex');
      if (bytes.length !== manifest.size || sha !== manifest.sha256) {
        this.o.ledger.counts.updatesRejected++;
        this.modelStatus = { status: 'rejected', reason: `artifact is ${bytes.length} bytes with SHA-256 ${sha}; the signed manifest says ${manifest.size} bytes, ${manifest.sha256}` };
        return await this.publishModelState();
      }
      this.modelStatus = { status: 'testing' };
      await this.publishModelState();
      this.previous = { name: this.current.name, version: this.current.version, sha256: this.current.sha256 };
      this.current = { name: manifest.name, version: manifest.version, sha256: manifest.sha256, release: manifest.release, inputSize: manifest.metadata.inputSize };
      this.lastSequence = manifest.sequence;
      const until = Date.now() + SIM_WATCH_MS;
      this.modelStatus = { status: 'applied', health: 'watching', watchUntil: until };
      await Promise.all([this.publishModelState(), this.publishState()]);
      await sleep(SIM_WATCH_MS);
      this.modelStatus = { status: 'applied', health: 'passed' };
      this.o.ledger.counts.updatesApplied++;
      await this.publishModelState();
    } catch (err) {
      this.modelStatus = { status: 'failed', reason: (err as Error).message };
      await this.publishModelState();
    } finally {
      this.applying = undefined;
    }
  }

  /** The artifact from the manifest's URL with the device token; a failed attempt is resumed after a pause, for up to a minute. */
  private async download(manifest: ReleaseManifest): Promise<Buffer> {
    const deadline = Date.now() + 60_000;
    let delay = 250;
    for (;;) {
      let why: string;
      try {
        const res = await fetch(manifest.url, { headers: { authorization: `Bearer ${this.o.token}` }, signal: AbortSignal.timeout(30_000) });
        if (res.ok) return Buffer.from(await res.arrayBuffer());
        why = `HTTP ${res.status} for ${manifest.url}`;
        // As the agent's download: a 4xx is final, but for 408 (the hub did not read the request in time) and 429.
        if (res.status < 500 && res.status !== 408 && res.status !== 429) throw new Error(why);
      } catch (err) {
        why = (err as Error).message;
        if (why.startsWith('HTTP ')) throw err;
      }
      if (Date.now() + delay > deadline) throw new Error(`download of ${manifest.url} failed for a minute: ${why}`);
      this.o.ledger.counts.downloadRetries++;
      await sleep(delay);
      delay = Math.min(delay * 2, 5000);
    }
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

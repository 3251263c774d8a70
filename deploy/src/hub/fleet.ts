import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import { readFileSync } from 'node:fs';
import { parsePayload, parseTopic, redactUrl, subscription, subscriptionMap, type Logger } from '@kestrel/core';
import type { RecordStore } from '../store/types.js';
import type { HubConfig } from '@kestrel/config/schema/hub';
import { IngestError, type SampleIngest } from './ingest.js';
import { isStoreUnavailable } from '../store/errors.js';
import { sharedFilter } from './replica.js';

export interface FleetStats {
  connected: boolean;
  messages: number;
  /** Messages each fleet session handled (mqtt.sessions of them). */
  perSession: number[];
  /** Payloads that did not parse (logged). */
  malformed: number;
  /** status/state messages of device ids the hub issued no token to (ignored, never a row). */
  unknownDevices: number;
  /** retried: attempts again after a 503 (busy, or the store away). */
  samples: { stored: number; duplicates: number; refused: number; retried: number };
  /** Drift comparisons stored (each camera's latest is kept). */
  drift: number;
  /** Shadow reports stored (each device's latest per shadow is kept). */
  shadow: number;
}

/**
 * Follows the fleet over MQTT: the retained `status` (online/offline, the agents' last will) and
 * `state` topics keep the device table current, each camera's retained `drift` keeps its latest
 * drift comparison (the alerts among them), and — when enabled — samples published on
 * `<prefix>/+/samples` are ingested. The sessions are persistent (clean: false, client ids fixed per
 * replica) so the broker queues QoS 1 samples while the hub is away.
 *
 * Several replicas share the work: the filters are `$share/<group>/...`, so the broker hands each
 * message to one member of the group (Mosquitto 2 also gives a retained message to one member when
 * it subscribes). Every write is idempotent — upserts that converge, samples keyed by (device, id)
 * — so a message redelivered after a replica died mid-way changes nothing.
 */
/**
 * How long an MQTT sample the hub is too busy for is tried again before it is refused: below
 * mqtt.js's keepalive (60 s), since the session reads nothing else meanwhile.
 */
const BUSY_RETRY_MS = 30_000;

export class FleetListener {
  private clients: MqttClient[] = [];
  private readonly counters = { messages: 0, malformed: 0, unknownDevices: 0, samples: { stored: 0, duplicates: 0, refused: 0, retried: 0 }, drift: 0, shadow: 0 };
  /** Each session's messages are handled one at a time, in order; sessions run side by side. */
  private queues: Promise<void>[] = [];
  private perSession: number[] = [];
  /** When an ignored unknown device was last logged: a flood of fake topics makes one line a minute, not one each. */
  private unknownLoggedAt = -Infinity;

  constructor(
    private readonly deps: { config: HubConfig['mqtt']; replica: string; records: RecordStore; ingest: SampleIngest; logger: Logger; now?: () => number },
  ) {}

  /**
   * Opens `mqtt.sessions` sessions, each a member of the shared group. A session handles one
   * message at a time (it is acknowledged once written), so a replica's fleet throughput is about
   * sessions ÷ the store's write latency: the load test's replicas on PostgreSQL topped out near
   * 120 messages a second with one session while their CPU idled at a quarter of a core.
   */
  start(): void {
    const { config } = this.deps;
    for (let i = 0; i < config.sessions; i++) this.startSession(i, i === 0 ? `${config.clientId}-${this.deps.replica}` : `${config.clientId}-${this.deps.replica}-${i}`);
  }

  private startSession(index: number, clientId: string): void {
    const { config, logger } = this.deps;
    const options: IClientOptions = {
      clientId,
      clean: false,
      username: config.username,
      password: config.password,
      reconnectPeriod: config.reconnect.minMs,
      connectTimeout: 10_000,
      ...(config.ca ? { ca: readFileSync(config.ca) } : {}),
      rejectUnauthorized: config.rejectUnauthorized,
    };
    const client = mqtt.connect(config.url, options);
    this.clients.push(client);
    this.queues[index] = Promise.resolve();
    this.perSession[index] = 0;
    const plain = subscriptionMap([subscription(config.prefix, 'status'), subscription(config.prefix, 'state'), subscription(config.prefix, 'drift'), subscription(config.prefix, 'shadowReport'), ...(config.samples ? [subscription(config.prefix, 'samples')] : [])]);
    // The broker strips `$share/<group>/` before matching, so topics arrive as the devices sent them.
    const subscriptions = Object.fromEntries(Object.entries(plain).map(([filter, options]) => [sharedFilter(config.shareGroup, filter), options]));
    const filters = Object.keys(subscriptions);
    client.on('connect', () => {
      if (index === 0) logger.info({ url: redactUrl(config.url), filters, sessions: config.sessions }, 'following the fleet over mqtt');
      client.subscribe(subscriptions, (err) => {
        if (err) logger.error({ err: err.message, clientId }, 'mqtt subscribe failed');
      });
    });
    client.on('error', (err) => logger.warn({ err: err.message, clientId }, 'mqtt error'));
    client.on('offline', () => logger.warn({ url: redactUrl(config.url), clientId }, 'mqtt broker unreachable; retrying'));
    // Acknowledged once handled, not on arrival: mqtt.js sends a QoS 1 message's PUBACK when
    // handleMessage calls back (its default calls back at once, before any 'message' listener has
    // written anything). A replica killed with a sample in hand then never acknowledged it, so
    // the broker hands it over again when the replica's session resumes — the load test lost one
    // sample in 775 on each kill -9 before. mqtt.js also reads the session's next message only
    // after the callback, so the broker holds the backlog, not this process.
    client.handleMessage = (packet, done) => {
      const { topic, payload, retain } = packet;
      this.perSession[index]++;
      const handled = this.queues[index]
        .then(() => this.handle(topic, typeof payload === 'string' ? Buffer.from(payload) : payload, retain))
        .catch((err: Error) => logger.error({ err: err.message, topic }, 'handling an mqtt message failed'));
      this.queues[index] = handled;
      void handled.then(() => done());
    };
  }

  private async handle(topic: string, payload: Buffer, retained: boolean): Promise<void> {
    const { config, records, logger } = this.deps;
    const parsed = parseTopic(config.prefix, topic);
    if (!parsed) return;
    this.counters.messages++;
    const now = this.deps.now?.() ?? Date.now();
    try {
      if ((parsed.kind === 'status' || parsed.kind === 'state' || parsed.kind === 'drift' || parsed.kind === 'shadowReport') && !(await this.isRegistered(parsed.deviceId, now))) return;
      switch (parsed.kind) {
        case 'status': {
          const status = parsePayload('status', payload);
          // A retained status is old news: it says online/offline, not that the device was just seen.
          await records.upsertFleetDevice({ deviceId: parsed.deviceId, online: status === 'online', lastSeen: retained ? 0 : now });
          return;
        }
        case 'state': {
          const state = parsePayload('state', payload);
          await records.upsertFleetDevice({
            deviceId: parsed.deviceId,
            agentVersion: state.agentVersion,
            model: state.model ? { name: state.model.name, version: state.model.version, sha256: state.model.sha256, provider: state.model.provider } : null,
            cameras: Object.fromEntries(Object.entries(state.cameras).map(([name, c]) => [name, { state: c.state, fps: c.fps }])),
            degraded: state.degraded,
            lastSeen: retained ? state.updatedAt : Math.max(now, state.updatedAt),
            // The device's own clock orders its states: one handled late by another replica or session is not shown over a newer one.
            stateAt: state.updatedAt,
          });
          return;
        }
        case 'samples':
          await this.ingestSample(parsed.deviceId, payload);
          return;
        case 'drift': {
          // An empty retained payload is how a retained message is removed: nothing to store.
          if (payload.length === 0) return;
          const d = parsePayload('drift', payload);
          // The topic names the device and camera (the broker binds a device to its own topics); the payload must agree.
          if (d.deviceId !== parsed.deviceId || d.camera !== parsed.camera) throw new Error(`payload names ${d.deviceId}/${d.camera}, the topic ${parsed.deviceId}/${parsed.camera}`);
          await records.upsertDrift({
            deviceId: d.deviceId,
            camera: d.camera,
            at: d.at,
            since: d.since,
            drifted: d.drifted,
            psi: d.psi,
            js: d.js,
            modelVersion: d.modelVersion,
            receivedAt: now,
            detail: { threshold: d.threshold, baseline: d.baseline, perFrame: d.perFrame, baselinePerFrame: d.baselinePerFrame, ...(d.worst && { worst: d.worst }), figures: d.figures },
          });
          this.counters.drift++;
          return;
        }
        case 'shadowReport': {
          if (payload.length === 0) return;
          const r = parsePayload('shadowReport', payload);
          if (r.deviceId !== parsed.deviceId) throw new Error(`payload names ${r.deviceId}, the topic ${parsed.deviceId}`);
          // Only shadows this hub started get rows: a device cannot grow the table with made-up ids.
          const shadow = await records.getShadow(r.id);
          if (!shadow) throw new Error(`no shadow ${r.id} on this hub`);
          if (!shadow.targets.includes(r.deviceId)) throw new Error(`device ${r.deviceId} is not a target of shadow ${r.id}`);
          await records.upsertShadowReport({ shadowId: r.id, deviceId: r.deviceId, at: r.at, receivedAt: now, report: r });
          this.counters.shadow++;
          return;
        }
        default:
          return;
      }
    } catch (err) {
      // An outage is not the device's fault: said as such, and not counted as malformed. The
      // device's next status or state message (or the broker's replay at restart) catches up.
      if (isStoreUnavailable(err)) {
        logger.error({ topic, err: err.message }, 'a fleet message was not recorded: the record store is unavailable');
        return;
      }
      this.counters.malformed++;
      logger.warn({ topic, err: (err as Error).message }, 'ignored a malformed fleet message');
    }
  }

  /**
   * Only devices the hub issued a token to get a row: anyone who can publish a retained
   * `<prefix>/<id>/status` could otherwise grow the table without bound (500 fake topics made
   * 500 rows). A device registered after its retained messages were sent appears with its next
   * state message, or when the hub restarts and the broker replays them.
   */
  private async isRegistered(deviceId: string, now: number): Promise<boolean> {
    if (await this.deps.records.activeToken(deviceId, 'device')) return true;
    this.counters.unknownDevices++;
    if (now - this.unknownLoggedAt >= 60_000) {
      this.unknownLoggedAt = now;
      this.deps.logger.warn({ device: deviceId, ignoredSoFar: this.counters.unknownDevices }, 'fleet message from a device without a hub token ignored (kestrel hub device add <id>)');
    }
    return false;
  }

  private async ingestSample(deviceId: string, payload: Buffer): Promise<void> {
    const { logger } = this.deps;
    let body: unknown;
    try {
      body = JSON.parse(payload.toString('utf8'));
    } catch (err) {
      this.counters.samples.refused++;
      logger.warn({ device: deviceId, err: (err as Error).message }, 'sample is not valid JSON');
      return;
    }
    // A hub that is busy (every decode slot taken) or whose store is away answers an HTTP upload
    // 503 and the device sends again; an MQTT sample has no one to tell, so it is tried again here
    // while the session waits (unacknowledged: a replica that dies meanwhile gets it back). The
    // 4,000-device load test lost 298 MQTT samples to E_HUB_BUSY before.
    const giveUpAt = Date.now() + BUSY_RETRY_MS;
    for (let delay = 100; ; delay = Math.min(delay * 2, 2000)) {
      try {
        return await this.storeSample(deviceId, body);
      } catch (err) {
        const busy = (err instanceof IngestError && err.status === 503) || isStoreUnavailable(err);
        if (busy && Date.now() + delay < giveUpAt) {
          this.counters.samples.retried++;
          await new Promise((r) => setTimeout(r, delay));
          continue;
        }
        this.counters.samples.refused++;
        logger.warn({ device: deviceId, err: (err as Error).message }, 'sample refused');
        return;
      }
    }
  }

  private async storeSample(deviceId: string, body: unknown): Promise<void> {
    const { records, ingest, logger } = this.deps;
    // Over MQTT the broker authenticated the device; the hub still takes samples only from devices it issued a token to.
    if (!(await records.activeToken(deviceId, 'device'))) {
      this.counters.samples.refused++;
      logger.warn({ device: deviceId }, 'sample from a device without an active hub token ignored (kestrel hub device add <id>)');
      return;
    }
    const { results } = await ingest.ingestOne(deviceId, body);
    if (results[0]?.status === 'stored') this.counters.samples.stored++;
    else this.counters.samples.duplicates++;
  }

  stats(): FleetStats {
    return { connected: this.clients.length > 0 && this.clients.every((c) => c.connected), messages: this.counters.messages, perSession: [...this.perSession], malformed: this.counters.malformed, unknownDevices: this.counters.unknownDevices, samples: { ...this.counters.samples }, drift: this.counters.drift, shadow: this.counters.shadow };
  }

  /** Waits for messages already received to be handled. */
  async idle(): Promise<void> {
    await Promise.all(this.queues);
  }

  async stop(): Promise<void> {
    const clients = this.clients;
    this.clients = [];
    await Promise.all(clients.map((c) => c.endAsync()));
    await Promise.all(this.queues);
  }
}

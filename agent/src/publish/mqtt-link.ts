import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import { readFileSync } from 'node:fs';
import { EventEmitter } from 'node:events';
import { redactUrl, type Logger } from '@kestrel/core';
import { backoffDelay } from '../source/backoff.js';

export interface MqttLinkOptions {
  url: string;
  clientId: string;
  username?: string;
  password?: string;
  tls?: { ca?: string; cert?: string; key?: string; rejectUnauthorized?: boolean };
  keepaliveSeconds?: number;
  reconnect: { minMs: number; maxMs: number };
  /** Retained `offline` on this topic when the connection dies (last will), `online` on connect. */
  statusTopic: string;
}

export interface LinkEvents {
  connected: [];
  disconnected: [reason: string];
}

export interface LinkStats {
  connected: boolean;
  connects: number;
  disconnects: number;
  /** QoS 0 messages not sent because the broker was away (never queued in memory). */
  telemetryDropped: number;
}

/**
 * The agent's one MQTT connection. It owns the last will and the retained status, reconnects
 * with jittered backoff (so a fleet does not stampede a broker that comes back), and refuses to
 * queue QoS 0 telemetry while offline: what matters durably goes through the outbox instead.
 */
export class MqttLink extends EventEmitter<LinkEvents> {
  private client?: MqttClient;
  private attempt = 0;
  private reconnectTimer?: NodeJS.Timeout;
  private stopping = false;
  readonly stats: LinkStats = { connected: false, connects: 0, disconnects: 0, telemetryDropped: 0 };

  constructor(
    private readonly options: MqttLinkOptions,
    private readonly logger: Logger,
  ) {
    super();
  }

  get connected(): boolean {
    return this.client?.connected === true;
  }

  start(): void {
    this.stopping = false;
    const o = this.options;
    const clientOptions: IClientOptions = {
      clientId: o.clientId,
      username: o.username,
      password: o.password,
      keepalive: o.keepaliveSeconds ?? 30,
      clean: true,
      // Reconnects are ours (jittered backoff); mqtt.js's own are fixed-period.
      reconnectPeriod: 0,
      connectTimeout: 10_000,
      queueQoSZero: false,
      will: { topic: o.statusTopic, payload: Buffer.from('offline'), qos: 1, retain: true },
      ...(o.tls?.ca ? { ca: readFileSync(o.tls.ca) } : {}),
      ...(o.tls?.cert ? { cert: readFileSync(o.tls.cert) } : {}),
      ...(o.tls?.key ? { key: readFileSync(o.tls.key) } : {}),
      ...(o.tls?.rejectUnauthorized !== undefined ? { rejectUnauthorized: o.tls.rejectUnauthorized } : {}),
    };
    const client = mqtt.connect(o.url, clientOptions);
    this.client = client;
    client.on('connect', () => {
      this.attempt = 0;
      this.stats.connected = true;
      this.stats.connects++;
      this.logger.info({ url: redactUrl(o.url) }, 'mqtt connected');
      client.publish(o.statusTopic, 'online', { qos: 1, retain: true });
      this.emit('connected');
    });
    client.on('close', () => this.onDown('connection closed'));
    client.on('error', (err) => {
      this.logger.warn({ err: err.message }, 'mqtt error');
    });
  }

  private onDown(reason: string): void {
    const was = this.stats.connected;
    this.stats.connected = false;
    if (was) {
      this.stats.disconnects++;
      this.logger.warn({ reason }, 'mqtt disconnected');
      this.emit('disconnected', reason);
    }
    if (this.stopping || this.reconnectTimer) return;
    const delay = backoffDelay(this.attempt++, { initialMs: this.options.reconnect.minMs, maxMs: this.options.reconnect.maxMs });
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = undefined;
      if (!this.stopping) this.client?.reconnect();
    }, delay);
  }

  /** QoS 1 publish; resolves when the broker acknowledged it (PUBACK). */
  publishAcked(topic: string, payload: Buffer | string, retain = false): Promise<void> {
    const client = this.client;
    if (!client?.connected) return Promise.reject(new Error('mqtt not connected'));
    return new Promise((resolve, reject) => {
      client.publish(topic, payload, { qos: 1, retain }, (err) => (err ? reject(err) : resolve()));
    });
  }

  /** QoS 0 telemetry: sent when connected, otherwise dropped and counted. */
  publishTelemetry(topic: string, payload: Buffer | string): boolean {
    if (!this.client?.connected) {
      this.stats.telemetryDropped++;
      return false;
    }
    this.client.publish(topic, payload, { qos: 0, retain: false });
    return true;
  }

  /** Retained QoS 1 (state, status); re-sent by the owner on every connect. */
  publishRetained(topic: string, payload: Buffer | string): void {
    if (this.client?.connected) this.client.publish(topic, payload, { qos: 1, retain: true });
  }

  /** Clean shutdown: retained `offline`, then disconnect (the will is not sent on a clean close). */
  async stop(timeoutMs = 3000): Promise<void> {
    this.stopping = true;
    clearTimeout(this.reconnectTimer);
    this.reconnectTimer = undefined;
    const client = this.client;
    if (!client) return;
    if (client.connected) {
      await Promise.race([
        new Promise<void>((resolve) => client.publish(this.options.statusTopic, 'offline', { qos: 1, retain: true }, () => resolve())),
        new Promise((r) => setTimeout(r, timeoutMs)),
      ]);
    }
    await new Promise<void>((resolve) => client.end(false, {}, () => resolve()));
    this.client = undefined;
  }
}

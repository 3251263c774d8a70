import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import { readFileSync } from 'node:fs';
import { EventEmitter } from 'node:events';
import { outgoing, redactUrl, topicMatches, type DeviceTopics, type Logger, type OutgoingMessage, type Subscription } from '@kestrel/core';
import { backoffDelay } from '../source/backoff.js';

export interface MqttLinkOptions {
  url: string;
  clientId: string;
  username?: string;
  password?: string;
  tls?: { ca?: string; cert?: string; key?: string; rejectUnauthorized?: boolean };
  keepaliveSeconds?: number;
  reconnect: { minMs: number; maxMs: number };
  /** The device's topics: retained `offline` on its status when the connection dies (last will), `online` on connect. */
  topics: DeviceTopics;
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
  private readonly subscriptions: { subscription: Subscription; onMessage: (topic: string, payload: Buffer) => void }[] = [];
  private readonly online: OutgoingMessage<'status'>;
  private readonly offline: OutgoingMessage<'status'>;
  readonly stats: LinkStats = { connected: false, connects: 0, disconnects: 0, telemetryDropped: 0 };

  constructor(
    private readonly options: MqttLinkOptions,
    private readonly logger: Logger,
  ) {
    super();
    this.online = outgoing(options.topics, 'status', 'online');
    this.offline = outgoing(options.topics, 'status', 'offline');
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
      will: { topic: this.offline.topic, payload: Buffer.from(this.offline.payload), qos: this.offline.qos, retain: this.offline.retain },
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
      client.publish(this.online.topic, this.online.payload, options(this.online));
      // A clean session forgets subscriptions: every connect asks again.
      for (const { subscription: s } of this.subscriptions) client.subscribe(s.filter, { qos: s.qos });
      this.emit('connected');
    });
    client.on('message', (topic, payload) => this.deliver(topic, payload));
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
      // Our own stop closes the connection: that is no warning.
      if (this.stopping) this.logger.debug({ reason }, 'mqtt closed');
      else this.logger.warn({ reason }, 'mqtt disconnected');
      this.emit('disconnected', reason);
    }
    if (this.stopping || this.reconnectTimer) return;
    const delay = backoffDelay(this.attempt++, this.options.reconnect);
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = undefined;
      if (!this.stopping) this.client?.reconnect();
    }, delay);
  }

  /**
   * Delivers every message matching `subscription` to `onMessage`, from now on and after every
   * reconnect. A handler that throws is logged: a bad message from the network never ends the agent.
   */
  subscribe(subscription: Subscription, onMessage: (topic: string, payload: Buffer) => void): void {
    this.subscriptions.push({ subscription, onMessage });
    if (this.client?.connected) this.client.subscribe(subscription.filter, { qos: subscription.qos });
  }

  private deliver(topic: string, payload: Buffer): void {
    for (const { subscription, onMessage } of this.subscriptions) {
      if (!topicMatches(subscription.filter, topic)) continue;
      try {
        onMessage(topic, payload);
      } catch (err) {
        this.logger.error({ topic, err: (err as Error).message }, 'mqtt message handler failed');
      }
    }
  }

  /**
   * Resolves when the broker has the message: its PUBACK for QoS 1 (events, samples). Rejects
   * when not connected, so the caller keeps it for later (the outbox, the sample backlog).
   */
  publishAcked(message: OutgoingMessage): Promise<void> {
    const client = this.client;
    if (!client?.connected) return Promise.reject(new Error('mqtt not connected'));
    return new Promise((resolve, reject) => {
      client.publish(message.topic, message.payload, options(message), (err) => (err ? reject(err) : resolve()));
    });
  }

  /**
   * Sent when connected, otherwise dropped, never queued in memory: telemetry (QoS 0 stats and
   * detections; each drop counted) and the retained state, which its owner re-sends on every connect.
   */
  publishIfConnected(message: OutgoingMessage): boolean {
    if (!this.client?.connected) {
      if (message.qos === 0) this.stats.telemetryDropped++;
      return false;
    }
    this.client.publish(message.topic, message.payload, options(message));
    return true;
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
        new Promise<void>((resolve) => client.publish(this.offline.topic, this.offline.payload, options(this.offline), () => resolve())),
        new Promise((r) => setTimeout(r, timeoutMs)),
      ]);
    }
    await new Promise<void>((resolve) => client.end(false, {}, () => resolve()));
    this.client = undefined;
  }
}

/** mqtt.js's publish options, as the message carries them (the contract table's). */
function options(message: OutgoingMessage): Pick<OutgoingMessage, 'qos' | 'retain'> {
  return { qos: message.qos, retain: message.retain };
}

import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import type { Logger } from '@kestrel/core';
import type { UpdateChannel } from './updater.js';

export interface MqttUpdateChannelOptions {
  url: string;
  /** Its own client id (the agent's id + `-update`): the agent's link keeps its session and will. */
  clientId: string;
  username?: string;
  password?: string;
  logger: Logger;
}

/**
 * The updater's MQTT connection. It re-subscribes on every connect (clean sessions forget
 * subscriptions) and re-publishes the last retained model state, so the hub sees where a device
 * stands as soon as it is back. A separate connection keeps the agent's MqttLink unchanged; an
 * MqttLink with a subscribe() would serve equally (the updater only needs UpdateChannel).
 */
export class MqttUpdateChannel implements UpdateChannel {
  private client?: MqttClient;
  private readonly subscriptions = new Map<string, (payload: Buffer) => void>();
  private readonly retained = new Map<string, string>();

  constructor(private readonly options: MqttUpdateChannelOptions) {}

  start(): void {
    const o = this.options;
    const clientOptions: IClientOptions = { clientId: o.clientId, username: o.username, password: o.password, clean: true, reconnectPeriod: 1000, connectTimeout: 10_000 };
    const client = mqtt.connect(o.url, clientOptions);
    this.client = client;
    client.on('connect', () => {
      for (const topic of this.subscriptions.keys()) client.subscribe(topic, { qos: 1 });
      for (const [topic, payload] of this.retained) client.publish(topic, payload, { qos: 1, retain: true });
    });
    client.on('message', (topic, payload) => {
      const handler = this.subscriptions.get(topic);
      if (!handler) return;
      try {
        handler(payload);
      } catch (err) {
        o.logger.error({ topic, err: (err as Error).message }, 'model update message handler failed');
      }
    });
    client.on('error', (err) => o.logger.warn({ err: err.message }, 'update channel mqtt error'));
  }

  async subscribe(topic: string, onMessage: (payload: Buffer) => void): Promise<void> {
    this.subscriptions.set(topic, onMessage);
    const client = this.client;
    if (client?.connected) await client.subscribeAsync(topic, { qos: 1 });
  }

  async publishRetained(topic: string, payload: string): Promise<void> {
    this.retained.set(topic, payload);
    const client = this.client;
    if (client?.connected) await client.publishAsync(topic, payload, { qos: 1, retain: true });
  }

  async stop(): Promise<void> {
    const client = this.client;
    this.client = undefined;
    if (client) await client.endAsync().catch(() => undefined);
  }
}

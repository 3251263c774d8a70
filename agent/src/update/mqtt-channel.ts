import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import type { Logger, OutgoingMessage, Subscription } from '@kestrel/core';
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
 * subscriptions) and re-publishes each topic's last retained message (the model state), so the
 * hub sees where a device stands as soon as it is back. A separate connection keeps the agent's
 * MqttLink unchanged; an MqttLink with a subscribe() would serve equally (the updater only needs
 * UpdateChannel).
 */
export class MqttUpdateChannel implements UpdateChannel {
  private client?: MqttClient;
  /** By filter: the filters are exact topics (this device's), so a message's topic finds its handler. */
  private readonly subscriptions = new Map<string, { subscription: Subscription; onMessage: (payload: Buffer) => void }>();
  private readonly retained = new Map<string, OutgoingMessage>();

  constructor(private readonly options: MqttUpdateChannelOptions) {}

  start(): void {
    const o = this.options;
    const clientOptions: IClientOptions = { clientId: o.clientId, username: o.username, password: o.password, clean: true, reconnectPeriod: 1000, connectTimeout: 10_000 };
    const client = mqtt.connect(o.url, clientOptions);
    this.client = client;
    client.on('connect', () => {
      for (const { subscription: s } of this.subscriptions.values()) client.subscribe(s.filter, { qos: s.qos });
      for (const m of this.retained.values()) client.publish(m.topic, m.payload, { qos: m.qos, retain: m.retain });
    });
    client.on('message', (topic, payload) => {
      const handler = this.subscriptions.get(topic);
      if (!handler) return;
      try {
        handler.onMessage(payload);
      } catch (err) {
        o.logger.error({ topic, err: (err as Error).message }, 'model update message handler failed');
      }
    });
    client.on('error', (err) => o.logger.warn({ err: err.message }, 'update channel mqtt error'));
  }

  async subscribe(subscription: Subscription, onMessage: (payload: Buffer) => void): Promise<void> {
    this.subscriptions.set(subscription.filter, { subscription, onMessage });
    const client = this.client;
    if (client?.connected) await client.subscribeAsync(subscription.filter, { qos: subscription.qos });
  }

  /** Publishes when connected; a retained message (model/state) is also kept and re-sent on every connect. */
  async publish(message: OutgoingMessage): Promise<void> {
    if (message.retain) this.retained.set(message.topic, message);
    const client = this.client;
    if (client?.connected) await client.publishAsync(message.topic, message.payload, { qos: message.qos, retain: message.retain });
  }

  async stop(): Promise<void> {
    const client = this.client;
    this.client = undefined;
    if (client) await client.endAsync().catch(() => undefined);
  }
}

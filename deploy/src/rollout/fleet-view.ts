import { parsePayload, parseTopic, subscription, subscriptionMap, type ModelState, type OutgoingMessage, type Subscription } from '@kestrel/core';

/**
 * The MQTT client surface rollouts use (mqtt.js's MqttClient fits). QoS and retain come from
 * `subscription()` and `outgoing()`, the contract table's, never from a rollout.
 */
export interface RolloutMqtt {
  subscribeAsync(subscriptions: Record<string, Pick<Subscription, 'qos'>>): Promise<unknown>;
  unsubscribeAsync(topic: string | string[]): Promise<unknown>;
  publishAsync(topic: string, payload: OutgoingMessage['payload'], options: Pick<OutgoingMessage, 'qos' | 'retain'>): Promise<unknown>;
  on(event: 'message', listener: (topic: string, payload: Buffer) => void): unknown;
  removeListener(event: 'message', listener: (topic: string, payload: Buffer) => void): unknown;
}

export interface DeviceView {
  deviceId: string;
  online: boolean;
  model?: ModelState;
}

/**
 * What the fleet says about itself on retained topics: who is online (`+/status`) and where each
 * device stands with its model (`+/model/state`). Listeners hear every model state change.
 */
export class FleetView {
  private readonly devices = new Map<string, DeviceView>();
  private readonly listeners = new Set<(device: DeviceView) => void>();
  private readonly onMessage = (topic: string, payload: Buffer) => this.handle(topic, payload);
  private readonly subscriptions: Subscription[];
  private stopped = false;

  constructor(private readonly mqtt: RolloutMqtt, private readonly prefix: string) {
    this.subscriptions = [subscription(prefix, 'status'), subscription(prefix, 'modelState')];
  }

  /**
   * Subscribes, again and again while the broker is away (mqtt.js fails a subscribe made offline
   * when the connection drops, and resubscribes on reconnect only what once succeeded); then
   * waits `settleMs` for the retained messages to arrive. Settles when the view is filled.
   */
  async start(settleMs = 500, retryMs = 1000): Promise<void> {
    this.mqtt.on('message', this.onMessage);
    for (;;) {
      try {
        await this.mqtt.subscribeAsync(subscriptionMap(this.subscriptions));
        break;
      } catch (err) {
        if (this.stopped) throw err;
        await new Promise((r) => setTimeout(r, retryMs));
        if (this.stopped) throw new Error('stopped before the fleet was heard');
      }
    }
    await new Promise((r) => setTimeout(r, settleMs));
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.mqtt.removeListener('message', this.onMessage);
    await this.mqtt.unsubscribeAsync(this.subscriptions.map((s) => s.filter)).catch(() => undefined);
  }

  list(): DeviceView[] {
    return [...this.devices.values()].sort((a, b) => a.deviceId.localeCompare(b.deviceId));
  }

  get(deviceId: string): DeviceView | undefined {
    return this.devices.get(deviceId);
  }

  onChange(listener: (device: DeviceView) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private handle(topic: string, payload: Buffer): void {
    const parsed = parseTopic(this.prefix, topic);
    if (!parsed || (parsed.kind !== 'status' && parsed.kind !== 'modelState')) return;
    const view = this.devices.get(parsed.deviceId) ?? { deviceId: parsed.deviceId, online: false };
    try {
      if (parsed.kind === 'status') view.online = parsePayload('status', payload) === 'online';
      else view.model = parsePayload('modelState', payload);
    } catch {
      return; // one device's bad payload does not stop a rollout
    }
    this.devices.set(parsed.deviceId, view);
    for (const listener of this.listeners) listener(view);
  }
}

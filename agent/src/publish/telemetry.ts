import { outgoing, type DeviceState, type DeviceTopics, type Stats } from '@kestrel/core';
import type { MqttLink } from './mqtt-link.js';

/**
 * The retained `state` (on every change, on every connect, and every 30 s at least, since it
 * carries per-camera fps) and the periodic `stats`. Telemetry is sent when connected and never
 * queued: the next one says it better.
 */
export class Telemetry {
  readonly name = 'telemetry';
  private statsTimer?: NodeJS.Timeout;
  private stateTimer?: NodeJS.Timeout;

  constructor(
    private readonly deps: { link: MqttLink; topics: DeviceTopics; status: { deviceState(): DeviceState; statsSnapshot(): Stats }; statsIntervalSeconds: number },
  ) {}

  start(): void {
    const statsMs = this.deps.statsIntervalSeconds * 1000;
    this.statsTimer = setInterval(() => this.publishStats(), statsMs);
    this.stateTimer = setInterval(() => this.publishState(), Math.max(statsMs, 30_000));
  }

  stop(): void {
    clearInterval(this.statsTimer);
    clearInterval(this.stateTimer);
  }

  publishState(): void {
    this.deps.link.publishIfConnected(outgoing(this.deps.topics, 'state', this.deps.status.deviceState()));
  }

  publishStats(): void {
    this.deps.link.publishIfConnected(outgoing(this.deps.topics, 'stats', this.deps.status.statsSnapshot()));
  }
}

import { KESTREL_VERSION, type Logger, type TrustedKeys } from '@kestrel/core';
import type { AgentConfig } from '@kestrel/config';
import type { LoadOptions } from '../inference/protocol.js';
import type { Frame } from '../source/index.js';
import type { InferenceTotals } from './inference-counters.js';
import { MqttUpdateChannel } from './mqtt-channel.js';
import { ModelUpdater, type SwappableEngine } from './updater.js';

/**
 * Fleet model updates as one agent part: the updater listens for signed releases on
 * `<prefix>/<device>/model/set` over its own MQTT connection (its subscription and retained
 * model/state are its own business, not the event link's).
 */
export class AgentUpdates {
  readonly name = 'model updates';
  private readonly channel: MqttUpdateChannel;
  private readonly updater: ModelUpdater;

  constructor(deps: {
    config: AgentConfig;
    mqttUrl: string;
    configuredModelPath: string;
    engine: SwappableEngine;
    load: LoadOptions;
    recentFrames: () => Frame[];
    counters: () => InferenceTotals;
    logger: Logger;
  }) {
    const { config, logger } = deps;
    const u = config.update;
    this.channel = new MqttUpdateChannel({ url: deps.mqttUrl, clientId: `${config.mqtt.clientId}-update`, username: config.mqtt.username, password: config.mqtt.password, logger });
    this.updater = new ModelUpdater({
      deviceId: config.device.id,
      prefix: config.mqtt.prefix,
      stateDir: config.stateDir,
      configuredModelPath: deps.configuredModelPath,
      trustedKeys: u.trustedKeys,
      threshold: u.threshold,
      agentVersion: KESTREL_VERSION,
      engine: deps.engine,
      channel: this.channel,
      recentFrames: deps.recentFrames,
      counters: deps.counters,
      load: deps.load,
      smoke: u.smoke,
      health: stripUndefined(u.watch),
      download: { ...u.download, ...(u.hubToken ? { headers: { authorization: `Bearer ${u.hubToken}` } } : {}) },
      logger,
    });
  }

  /** The release keys the updater trusts now. */
  trusted(): TrustedKeys {
    return this.updater.trusted;
  }

  async start(): Promise<void> {
    this.channel.start();
    await this.updater.start();
  }

  async stop(): Promise<void> {
    await this.updater.stop();
    await this.channel.stop();
  }
}

/** Config leaves unset fields undefined; policy defaults apply only to absent keys. */
function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

import { outgoing, parseDiscoveryTopic, parsePayload, parseTopic, subscription, type DetectionEvent, type DeviceTopics, type Logger, type OutgoingMessage } from '@kestrel/core';
import type { CameraConfig } from '@kestrel/config';
import type { Part } from '../lifecycle/parts.js';
import type { MqttLink } from '../publish/mqtt-link.js';
import { cameraDiscovery, entityLabels, removal, type DiscoveryDevice, type DiscoveryEntry } from './discovery.js';
import { OpenTracks } from './open-tracks.js';

export interface HomeAssistantCameras {
  /** The running cameras' settings. */
  configs(): CameraConfig[];
  /** False when there is no such camera. */
  setDetection(name: string, on: boolean): boolean;
  detecting(name: string): boolean;
}

export interface HomeAssistantBridgeDeps {
  link: MqttLink;
  topics: DeviceTopics;
  device: DiscoveryDevice;
  cameras: HomeAssistantCameras;
  /** `homeassistant.labels`: entity labels of cameras without filters.classes. */
  labels: readonly string[];
  logger: Logger;
  /** A camera's detection was switched (the watchdog counts a switch on as progress). */
  onDetectionChanged?: (camera: string, on: boolean) => void;
}

/**
 * The agent as Home Assistant sees it (discovery.ts says what). Sends every discovery config, the
 * detect switches' retained state and every current count on each connect and whenever Home
 * Assistant announces itself (`<discovery>/status` `online`, its birth message: a restarted Home
 * Assistant has forgotten non-retained values); after a reload, sends what changed and removes
 * the entities of cameras (or labels) that are gone with an empty retained payload. Configs of
 * this device left on the broker by an earlier run that the config no longer has are removed
 * as they arrive. Counts go out as the events change them.
 *
 * Started after the cameras, so its first sync has them; an event that comes while it stops (the
 * cameras' last `end`s) is still counted and sent while MQTT is up.
 */
export class HomeAssistantBridge implements Part {
  readonly name = 'home assistant';
  private readonly tracks = new OpenTracks();
  /** Discovery topic → entry, for what this run has published and not removed. */
  private readonly published = new Map<string, DiscoveryEntry>();
  /** Labels each camera's counts are sent for (its entity labels). */
  private entityLabels = new Map<string, string[]>();
  private readonly onConnected = () => this.sync(true);

  constructor(private readonly deps: HomeAssistantBridgeDeps) {}

  start(): void {
    const { link, topics: t } = this.deps;
    link.subscribe(subscription(t.discoveryPrefix, 'haStatus'), (_topic, payload) => this.onHaStatus(payload));
    link.subscribe(subscription(t.prefix, 'detectSet', t.deviceId), (topic, payload) => this.onDetectSet(topic, payload));
    link.subscribe(subscription(t.discoveryPrefix, 'haDiscovery', t.deviceId), (topic, payload) => this.onOwnConfig(topic, payload));
    link.on('connected', this.onConnected);
    this.sync(true);
  }

  stop(): void {
    this.deps.link.off('connected', this.onConnected);
  }

  /** One camera event (from the sink): the counts it changes go out now. */
  event(event: DetectionEvent): void {
    for (const { camera, label, count } of this.tracks.event(event)) this.publishCount(camera, label, count);
  }

  /**
   * Brings Home Assistant up to date with the running cameras: new and changed configs out,
   * configs of cameras and labels that are gone removed. `all` sends everything again (a connect,
   * Home Assistant's birth), with the switches' state and the counts.
   */
  sync(all = false): void {
    const { cameras, topics: t, device, labels } = this.deps;
    const wanted = new Map<string, DiscoveryEntry>();
    const nextLabels = new Map<string, string[]>();
    for (const camera of cameras.configs()) {
      const cameraLabels = entityLabels(camera, labels);
      nextLabels.set(camera.name, cameraLabels);
      for (const entry of cameraDiscovery(t, device, camera.name, cameraLabels, { snapshots: camera.snapshots.enabled })) wanted.set(entry.message.topic, entry);
    }
    for (const [topic, entry] of this.published) {
      if (wanted.has(topic)) continue;
      this.send(removal(t, entry));
      this.published.delete(topic);
    }
    for (const name of this.entityLabels.keys()) if (!nextLabels.has(name)) this.tracks.forget(name);
    const added = new Set<string>();
    for (const [topic, entry] of wanted) {
      const before = this.published.get(topic);
      if (!all && before && before.message.payload === entry.message.payload) continue;
      this.published.set(topic, entry);
      this.send(entry.message);
      added.add(entry.camera);
    }
    const known = this.entityLabels;
    this.entityLabels = nextLabels;
    for (const [name, cameraLabels] of nextLabels) {
      if (!all && known.has(name) && !added.has(name)) continue;
      this.publishDetectState(name);
      // Zeros too: a sensor without a value shows "unknown", not "0".
      for (const label of new Set([...cameraLabels, ...this.tracks.labels(name)])) this.publishCount(name, label, this.tracks.count(name, label));
    }
  }

  private onHaStatus(payload: Buffer): void {
    let status: string;
    try {
      status = parsePayload('haStatus', payload);
    } catch (err) {
      this.deps.logger.debug({ err: (err as Error).message }, 'ignored a Home Assistant status that is neither online nor offline');
      return;
    }
    if (status !== 'online') return;
    this.deps.logger.info('Home Assistant is online: sending discovery again');
    this.sync(true);
  }

  /** `<camera>/detect/set`: an input from the network, so a bad one is logged and ignored. */
  private onDetectSet(topic: string, payload: Buffer): void {
    const { logger, cameras } = this.deps;
    const camera = parseTopic(this.deps.topics.prefix, topic)?.camera;
    if (camera === undefined) return;
    let on: boolean;
    try {
      on = parsePayload('detectSet', payload) === 'ON';
    } catch (err) {
      logger.warn({ camera, payload: payload.toString('utf8').slice(0, 64), err: (err as Error).message }, 'ignored a detect/set command (the payload is ON or OFF)');
      return;
    }
    const was = cameras.detecting(camera);
    if (!cameras.setDetection(camera, on)) {
      logger.warn({ camera }, 'ignored a detect/set command for a camera that is not running');
      return;
    }
    if (was !== on) {
      logger.info({ camera, detect: on ? 'ON' : 'OFF' }, 'detection switched');
      this.deps.onDetectionChanged?.(camera, on);
    }
    // Always answered, so the switch in Home Assistant settles even on a repeated command.
    this.publishDetectState(camera);
  }

  /** A retained config of this device: one this run does not publish is a leftover, and goes. */
  private onOwnConfig(topic: string, payload: Buffer): void {
    if (payload.length === 0 || this.published.has(topic)) return;
    const { topics: t } = this.deps;
    const parsed = parseDiscoveryTopic(t.discoveryPrefix, topic);
    if (parsed?.kind !== 'haDiscovery' || parsed.nodeId !== t.haNodeId) return;
    this.deps.logger.info({ topic }, 'removing a Home Assistant entity this config no longer has');
    this.send(removal(t, parsed));
  }

  private publishDetectState(camera: string): void {
    this.send(outgoing(this.deps.topics, 'detectState', this.deps.cameras.detecting(camera) ? 'ON' : 'OFF', { camera }));
  }

  private publishCount(camera: string, label: string, count: number): void {
    let message: OutgoingMessage<'labelCount'>;
    try {
      message = outgoing(this.deps.topics, 'labelCount', count, { camera, label });
    } catch {
      return; // a label that cannot be a topic level (a "/" in a model's label) has no count topic
    }
    this.send(message);
  }

  /** Sent when connected, else dropped: every connect sends the whole picture again. */
  private send(message: OutgoingMessage): void {
    this.deps.link.publishIfConnected(message);
  }
}

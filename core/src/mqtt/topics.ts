import { KestrelError } from '../util/errors.js';

/**
 * The MQTT topic layout (ARCHITECTURE.md, "MQTT contract"). One place builds topics and one place
 * parses them, so the agent, the hub and the tests can never disagree about a topic's shape.
 *
 *   <prefix>/<device>/status | state | stats | samples        device topics
 *   <prefix>/<device>/model/set | model/state | keys/set       model update channel, key rotation
 *   <prefix>/<device>/<camera>/events | detections            per-camera topics
 *
 * The layout is unambiguous even for a camera named `model`: camera topics end in `events` or
 * `detections`, model topics in `set` or `state`.
 */

export const TOPIC_KINDS = ['status', 'state', 'stats', 'modelSet', 'modelState', 'keysSet', 'samples', 'events', 'detections'] as const;
export type TopicKind = (typeof TOPIC_KINDS)[number];
export type CameraTopicKind = 'events' | 'detections';

export interface TopicSpec {
  /** Topic levels after `<prefix>/<device>/` (`{camera}` marks the camera level). */
  levels: readonly string[];
  /** The MQTT retain flag, named as mqtt.js's publish option is. */
  retain: boolean;
  qos: 0 | 1;
}

/**
 * Retain flag and QoS per topic, as the contract table says. Publishers get them through
 * `outgoing()` and subscribers through `subscription()` (outgoing.ts), never as literals.
 */
export const TOPIC_SPECS: Readonly<Record<TopicKind, TopicSpec>> = {
  status: { levels: ['status'], retain: true, qos: 1 },
  state: { levels: ['state'], retain: true, qos: 1 },
  stats: { levels: ['stats'], retain: false, qos: 0 },
  // Retained, so a device that was offline during a push gets the manifest when it returns;
  // replay protection (sequence numbers) makes a re-delivered manifest harmless.
  modelSet: { levels: ['model', 'set'], retain: true, qos: 1 },
  modelState: { levels: ['model', 'state'], retain: true, qos: 1 },
  // Retained like the manifest: a device that was away takes the rotation when it returns.
  keysSet: { levels: ['keys', 'set'], retain: true, qos: 1 },
  samples: { levels: ['samples'], retain: false, qos: 1 },
  events: { levels: ['{camera}', 'events'], retain: false, qos: 1 },
  detections: { levels: ['{camera}', 'detections'], retain: false, qos: 0 },
};

export interface DeviceTopics {
  readonly prefix: string;
  readonly deviceId: string;
  readonly status: string;
  readonly state: string;
  readonly stats: string;
  readonly modelSet: string;
  readonly keysSet: string;
  readonly modelState: string;
  readonly samples: string;
  events(camera: string): string;
  detections(camera: string): string;
  /** Filter matching every topic of this device (`<prefix>/<device>/#`). */
  readonly all: string;
}

export interface ParsedTopic {
  deviceId: string;
  kind: TopicKind;
  camera?: string;
}

/**
 * Why a string cannot be one topic level, or null when it can. MQTT itself forbids only the
 * wildcards in published topics, but `/` would add a level and an empty level makes a topic
 * that no filter written by a person matches.
 */
export function topicLevelProblem(value: string): string | null {
  if (value.length === 0) return 'must not be empty';
  if (value.includes('/')) return 'must not contain "/" (it would add a topic level)';
  if (value.includes('+') || value.includes('#')) return 'must not contain the MQTT wildcards "+" or "#"';
  if (/[\u0000-\u001f\u007f]/.test(value)) return 'must not contain control characters';
  if (value.trim() !== value) return 'must not start or end with whitespace';
  return null;
}

/** Why a string cannot be a topic prefix (one or more levels, e.g. `kestrel` or `site1/kestrel`). */
export function topicPrefixProblem(prefix: string): string | null {
  if (prefix.length === 0) return 'must not be empty';
  if (prefix.startsWith('$')) return 'must not start with "$" (reserved for broker topics such as $SYS)';
  if (prefix.startsWith('/') || prefix.endsWith('/')) return 'must not start or end with "/"';
  for (const level of prefix.split('/')) {
    const problem = topicLevelProblem(level);
    if (problem) return level.length === 0 ? 'must not contain an empty level ("//")' : problem;
  }
  return null;
}

export function assertTopicLevel(value: string, what: string): string {
  const problem = topicLevelProblem(value);
  if (problem) throw new KestrelError('E_TOPIC', `${what} ${JSON.stringify(value)} cannot be used in an MQTT topic: it ${problem}`);
  return value;
}

export function assertTopicPrefix(prefix: string): string {
  const problem = topicPrefixProblem(prefix);
  if (problem) throw new KestrelError('E_TOPIC', `MQTT prefix ${JSON.stringify(prefix)} is not usable: it ${problem}`);
  return prefix;
}

/** The topics of one device. Throws E_TOPIC when the prefix, the device id or a camera name is not topic-safe. */
export function topics(prefix: string, deviceId: string): DeviceTopics {
  assertTopicPrefix(prefix);
  assertTopicLevel(deviceId, 'device id');
  const base = `${prefix}/${deviceId}`;
  const camera = (name: string, kind: CameraTopicKind): string => `${base}/${assertTopicLevel(name, 'camera name')}/${kind}`;
  return {
    prefix,
    deviceId,
    status: `${base}/status`,
    state: `${base}/state`,
    stats: `${base}/stats`,
    modelSet: `${base}/model/set`,
    keysSet: `${base}/keys/set`,
    modelState: `${base}/model/state`,
    samples: `${base}/samples`,
    events: (name) => camera(name, 'events'),
    detections: (name) => camera(name, 'detections'),
    all: `${base}/#`,
  };
}

/**
 * A subscription filter for one kind of topic across a fleet (`kestrel/+/state`,
 * `kestrel/+/+/events`, ...), or for one device when `deviceId` is given.
 */
export function topicFilter(prefix: string, kind: TopicKind, deviceId?: string): string {
  assertTopicPrefix(prefix);
  const device = deviceId === undefined ? '+' : assertTopicLevel(deviceId, 'device id');
  const levels = TOPIC_SPECS[kind].levels.map((level) => (level === '{camera}' ? '+' : level));
  return [prefix, device, ...levels].join('/');
}

/** What a topic under `prefix` is, or null when it is not a Kestrel topic. */
export function parseTopic(prefix: string, topic: string): ParsedTopic | null {
  if (!topic.startsWith(`${prefix}/`)) return null;
  const levels = topic.slice(prefix.length + 1).split('/');
  if (levels.some((level) => topicLevelProblem(level) !== null)) return null;
  const [deviceId, first, second] = levels;
  if (levels.length === 2) {
    if (first === 'status' || first === 'state' || first === 'stats' || first === 'samples') return { deviceId, kind: first };
    return null;
  }
  if (levels.length === 3) {
    if (first === 'model' && second === 'set') return { deviceId, kind: 'modelSet' };
    if (first === 'keys' && second === 'set') return { deviceId, kind: 'keysSet' };
    if (first === 'model' && second === 'state') return { deviceId, kind: 'modelState' };
    if (second === 'events' || second === 'detections') return { deviceId, kind: second, camera: first };
  }
  return null;
}

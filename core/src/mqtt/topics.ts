import { createHash } from 'node:crypto';
import { KestrelError } from '../util/errors.js';

/**
 * The MQTT topic layout (ARCHITECTURE.md, "MQTT contract"). One place builds topics and one place
 * parses them, so the agent, the hub and the tests can never disagree about a topic's shape.
 *
 *   <prefix>/<device>/status | state | stats | samples        device topics
 *   <prefix>/<device>/model/set | model/state | keys/set       model update channel, key rotation
 *   <prefix>/<device>/model/shadow | shadow                    shadow comparison: the hub's order, the device's report
 *   <prefix>/<device>/<camera>/events | detections | clip     per-camera topics (clip: an object's MP4 is ready)
 *   <prefix>/<device>/<camera>/drift                           the camera's drift against the model's baseline
 *   <prefix>/<device>/<camera>/<label>/count                   open tracks of that label
 *   <prefix>/<device>/<camera>/<label>/snapshot                the best JPEG of that label's latest object
 *   <prefix>/<device>/<camera>/detect/set | detect/state       detection on/off (Home Assistant switch)
 *   <discovery>/status                                         Home Assistant's birth and will
 *   <discovery>/<component>/<node>/<object>/config             Home Assistant MQTT discovery
 *
 * The layout is unambiguous even for a camera named `model`: camera topics end in `events`,
 * `detections`, `clip` or `drift`, model topics in `set` or `state`; of the four-level topics, counts end in
 * `count`, snapshots in `snapshot` and the switch in `detect/set` or `detect/state`. There is deliberately no
 * `<camera>/<label>` topic (Frigate's ON/OFF): a broker ACL that let a device write
 * `<prefix>/<device>/+/+` would let it overwrite its own `model/set` and `keys/set`, the hub's retained word.
 * Home Assistant's binary sensors read the count with a value_template instead.
 */

export const TOPIC_KINDS = [
  'status', 'state', 'stats', 'modelSet', 'modelState', 'keysSet', 'shadowSet', 'shadowReport', 'samples', 'events', 'detections', 'clip',
  'drift', 'labelCount', 'snapshot', 'detectSet', 'detectState', 'haStatus', 'haDiscovery',
] as const;
export type TopicKind = (typeof TOPIC_KINDS)[number];
export type CameraTopicKind = 'events' | 'detections' | 'clip' | 'drift';

/** Home Assistant entity platforms Kestrel announces (MQTT discovery's `<component>` level). */
export const HA_COMPONENTS = ['binary_sensor', 'sensor', 'switch', 'camera'] as const;
export type HaComponent = (typeof HA_COMPONENTS)[number];

/**
 * Where a topic of a kind goes beyond what its payload says: the camera and label of a label
 * topic (its payload is a bare count or ON/OFF), the entity of a discovery config.
 */
export interface TopicAddress {
  labelCount: { camera: string; label: string };
  snapshot: { camera: string; label: string };
  detectSet: { camera: string };
  detectState: { camera: string };
  haDiscovery: { component: HaComponent; objectId: string };
}

export interface TopicSpec {
  /**
   * Topic levels after `<prefix>/<device>/` (`{camera}`, `{label}` mark those levels), or for
   * `root: 'discovery'` after Home Assistant's discovery prefix (`{component}`, `{node}`, `{object}`).
   */
  levels: readonly string[];
  /** Home Assistant's topics live under its discovery prefix, not under the device. Default: device. */
  root?: 'device' | 'discovery';
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
  // The hub's order to run a candidate beside the current model (a signed manifest, a share, an
  // end), or to stop: retained like model/set, so a device that was away (or restarted: the
  // shadow is not persisted) takes the latest word when it returns.
  shadowSet: { levels: ['model', 'shadow'], retain: true, qos: 1 },
  // The device's running comparison (totals since the shadow started), every
  // update.shadow.reportIntervalS: retained, so a hub replica that subscribes later has the latest.
  shadowReport: { levels: ['shadow'], retain: true, qos: 1 },
  samples: { levels: ['samples'], retain: false, qos: 1 },
  events: { levels: ['{camera}', 'events'], retain: false, qos: 1 },
  detections: { levels: ['{camera}', 'detections'], retain: false, qos: 0 },
  // Like an event (it is the follow-up of one, sent postSeconds after its `end`): QoS 1 through the
  // outbox, not retained (a retained clip would speak of one object forever).
  clip: { levels: ['{camera}', 'clip'], retain: false, qos: 1 },
  // Retained, like the detect switch's state: the latest comparison (and whether the camera is
  // drifted) is a state, so a dashboard or a hub replica that subscribes later knows it at once;
  // QoS 1 so a raised or cleared alert is not lost on the way. One message per comparison
  // (drift.intervalS, 5 min by default) per camera.
  drift: { levels: ['{camera}', 'drift'], retain: true, qos: 1 },
  // Not retained, as Frigate publishes its counts: a retained count outlives the agent that
  // counted (a crash leaves "2 persons" forever). The agent resends every current value on each
  // connect and on Home Assistant's birth message instead, so a subscriber is never long unknown.
  labelCount: { levels: ['{camera}', '{label}', 'count'], retain: false, qos: 0 },
  // Retained, as Frigate's: a dashboard opened later still shows the last object of the label.
  // QoS 0: a newer picture replaces a lost one, and a JPEG is too big to queue in the outbox.
  snapshot: { levels: ['{camera}', '{label}', 'snapshot'], retain: true, qos: 0 },
  // A command is not retained (a retained OFF would switch detection off again at every start);
  // the state is, so the switch shows the truth as soon as Home Assistant subscribes.
  detectSet: { levels: ['{camera}', 'detect', 'set'], retain: false, qos: 1 },
  detectState: { levels: ['{camera}', 'detect', 'state'], retain: true, qos: 1 },
  haStatus: { levels: ['status'], root: 'discovery', retain: false, qos: 1 },
  // Retained, as Home Assistant's discovery documentation asks: it reads them again when it restarts.
  haDiscovery: { levels: ['{component}', '{node}', '{object}', 'config'], root: 'discovery', retain: true, qos: 1 },
};

/** Home Assistant's default discovery prefix. */
export const DEFAULT_DISCOVERY_PREFIX = 'homeassistant';

export interface DeviceTopics {
  readonly prefix: string;
  readonly deviceId: string;
  readonly status: string;
  readonly state: string;
  readonly stats: string;
  readonly modelSet: string;
  readonly keysSet: string;
  readonly modelState: string;
  readonly shadowSet: string;
  readonly shadowReport: string;
  readonly samples: string;
  events(camera: string): string;
  detections(camera: string): string;
  clip(camera: string): string;
  drift(camera: string): string;
  labelCount(camera: string, label: string): string;
  snapshot(camera: string, label: string): string;
  detectSet(camera: string): string;
  detectState(camera: string): string;
  /** Filter matching every topic of this device (`<prefix>/<device>/#`). */
  readonly all: string;
  /** Home Assistant's discovery prefix and birth topic. */
  readonly discoveryPrefix: string;
  readonly haStatus: string;
  /** This device's node id in discovery topics (`kestrel_<device>`, HA's allowed characters only). */
  readonly haNodeId: string;
  haDiscovery(component: HaComponent, objectId: string): string;
}

export interface ParsedTopic {
  deviceId: string;
  kind: TopicKind;
  camera?: string;
  label?: string;
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

/**
 * A name as one part of a Home Assistant node or object id, which allow only `[a-zA-Z0-9_-]`.
 * A name already of letters, digits and `-` stays as it is; any other name is folded to those
 * characters and gets 8 hex digits of its SHA-256, so two names never share an id (`front door`
 * and `front-door` differ) and `_` is free to join the parts.
 */
export function haIdPart(name: string): string {
  if (/^[A-Za-z0-9-]+$/.test(name)) return name;
  const folded = name.replace(/[^A-Za-z0-9-]+/g, '-').replace(/^-+|-+$/g, '');
  return `${folded ? `${folded}-` : ''}${createHash('sha256').update(name).digest('hex').slice(0, 8)}`;
}

/**
 * A device's node id in discovery topics: `kestrel_<device>`. The node id is a topic level of its
 * own, so a device id of `[A-Za-z0-9_-]` (what the config allows) stays as it is, and a broker ACL
 * can name it as `kestrel_%u`; any other id is folded by haIdPart.
 */
export function haNodeIdOf(deviceId: string): string {
  return `kestrel_${/^[A-Za-z0-9_-]+$/.test(deviceId) ? deviceId : haIdPart(deviceId)}`;
}

export interface TopicsOptions {
  /** Home Assistant's discovery prefix (default `homeassistant`). */
  discoveryPrefix?: string;
}

/** The topics of one device. Throws E_TOPIC when the prefix, the device id or a camera name is not topic-safe. */
export function topics(prefix: string, deviceId: string, options: TopicsOptions = {}): DeviceTopics {
  assertTopicPrefix(prefix);
  assertTopicLevel(deviceId, 'device id');
  const discoveryPrefix = assertTopicPrefix(options.discoveryPrefix ?? DEFAULT_DISCOVERY_PREFIX);
  const base = `${prefix}/${deviceId}`;
  const cameraLevel = (name: string) => `${base}/${assertTopicLevel(name, 'camera name')}`;
  const camera = (name: string, kind: CameraTopicKind): string => `${cameraLevel(name)}/${kind}`;
  const haNodeId = haNodeIdOf(deviceId);
  return {
    prefix,
    deviceId,
    status: `${base}/status`,
    state: `${base}/state`,
    stats: `${base}/stats`,
    modelSet: `${base}/model/set`,
    keysSet: `${base}/keys/set`,
    modelState: `${base}/model/state`,
    shadowSet: `${base}/model/shadow`,
    shadowReport: `${base}/shadow`,
    samples: `${base}/samples`,
    events: (name) => camera(name, 'events'),
    detections: (name) => camera(name, 'detections'),
    clip: (name) => camera(name, 'clip'),
    drift: (name) => camera(name, 'drift'),
    labelCount: (name, label) => `${cameraLevel(name)}/${assertTopicLevel(label, 'label')}/count`,
    snapshot: (name, label) => `${cameraLevel(name)}/${assertTopicLevel(label, 'label')}/snapshot`,
    detectSet: (name) => `${cameraLevel(name)}/detect/set`,
    detectState: (name) => `${cameraLevel(name)}/detect/state`,
    all: `${base}/#`,
    discoveryPrefix,
    haStatus: `${discoveryPrefix}/status`,
    haNodeId,
    haDiscovery: (component, objectId) => {
      if (!/^[A-Za-z0-9_-]+$/.test(objectId)) throw new KestrelError('E_TOPIC', `Home Assistant object id ${JSON.stringify(objectId)} may hold only letters, digits, "_" and "-"`);
      return `${discoveryPrefix}/${component}/${haNodeId}/${objectId}/config`;
    },
  };
}

/**
 * A subscription filter for one kind of topic across a fleet (`kestrel/+/state`,
 * `kestrel/+/+/events`, ...), or for one device when `deviceId` is given. For the kinds under
 * Home Assistant's discovery prefix, `prefix` is that prefix (`homeassistant/status`; with
 * `deviceId`, `homeassistant/+/kestrel_<device>/+/config` is that device's discovery configs).
 */
export function topicFilter(prefix: string, kind: TopicKind, deviceId?: string): string {
  assertTopicPrefix(prefix);
  const device = deviceId === undefined ? '+' : assertTopicLevel(deviceId, 'device id');
  const spec = TOPIC_SPECS[kind];
  const node = deviceId === undefined ? '+' : haNodeIdOf(deviceId);
  const levels = spec.levels.map((level) => (level === '{node}' ? node : level.startsWith('{') ? '+' : level));
  return spec.root === 'discovery' ? [prefix, ...levels].join('/') : [prefix, device, ...levels].join('/');
}

/** Whether `topic` matches the subscription `filter` (MQTT's `+` and `#` wildcards). */
export function topicMatches(filter: string, topic: string): boolean {
  const f = filter.split('/');
  const t = topic.split('/');
  for (let i = 0; i < f.length; i++) {
    if (f[i] === '#') return true;
    if (i >= t.length) return false;
    if (f[i] !== '+' && f[i] !== t[i]) return false;
  }
  return f.length === t.length;
}

/** What a topic under `prefix` is, or null when it is not a Kestrel topic. */
export function parseTopic(prefix: string, topic: string): ParsedTopic | null {
  if (!topic.startsWith(`${prefix}/`)) return null;
  const levels = topic.slice(prefix.length + 1).split('/');
  if (levels.some((level) => topicLevelProblem(level) !== null)) return null;
  const [deviceId, first, second] = levels;
  if (levels.length === 2) {
    if (first === 'status' || first === 'state' || first === 'stats' || first === 'samples') return { deviceId, kind: first };
    if (first === 'shadow') return { deviceId, kind: 'shadowReport' };
    return null;
  }
  if (levels.length === 3) {
    if (first === 'model' && second === 'set') return { deviceId, kind: 'modelSet' };
    if (first === 'keys' && second === 'set') return { deviceId, kind: 'keysSet' };
    if (first === 'model' && second === 'state') return { deviceId, kind: 'modelState' };
    if (first === 'model' && second === 'shadow') return { deviceId, kind: 'shadowSet' };
    if (second === 'events' || second === 'detections' || second === 'clip' || second === 'drift') return { deviceId, kind: second, camera: first };
  }
  if (levels.length === 4) {
    const third = levels[3];
    if (second === 'detect' && third === 'set') return { deviceId, kind: 'detectSet', camera: first };
    if (second === 'detect' && third === 'state') return { deviceId, kind: 'detectState', camera: first };
    if (third === 'count') return { deviceId, kind: 'labelCount', camera: first, label: second };
    if (third === 'snapshot') return { deviceId, kind: 'snapshot', camera: first, label: second };
  }
  return null;
}

export type ParsedDiscoveryTopic = { kind: 'haStatus' } | { kind: 'haDiscovery'; component: HaComponent; nodeId: string; objectId: string };

/** What a topic under Home Assistant's discovery prefix is (its status, or a config of a component Kestrel announces), or null. */
export function parseDiscoveryTopic(discoveryPrefix: string, topic: string): ParsedDiscoveryTopic | null {
  if (!topic.startsWith(`${discoveryPrefix}/`)) return null;
  const levels = topic.slice(discoveryPrefix.length + 1).split('/');
  if (levels.length === 1 && levels[0] === 'status') return { kind: 'haStatus' };
  if (levels.length !== 4 || levels[3] !== 'config') return null;
  const [component, nodeId, objectId] = levels;
  if (!(HA_COMPONENTS as readonly string[]).includes(component)) return null;
  if (!/^[A-Za-z0-9_-]+$/.test(nodeId) || !/^[A-Za-z0-9_-]+$/.test(objectId)) return null;
  return { kind: 'haDiscovery', component: component as HaComponent, nodeId, objectId };
}

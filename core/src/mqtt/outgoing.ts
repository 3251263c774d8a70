import { KestrelError } from '../util/errors.js';
import { encodePayload } from './codec.js';
import type { PayloadOf } from './payloads.js';
import { TOPIC_SPECS, topicFilter, type DeviceTopics, type TopicAddress, type TopicKind } from './topics.js';

/**
 * The one way Kestrel builds what it publishes: (topic kind, payload of that kind) → topic,
 * codec-encoded payload, and the QoS and retain flag of the contract table (TOPIC_SPECS). The
 * agent and the hub hand these messages to their MQTT clients as they are, so no publisher
 * picks a QoS, a retain flag or a payload encoding of its own, and a payload of the wrong shape
 * for its kind does not compile.
 */

export interface OutgoingMessage<K extends TopicKind = TopicKind> {
  readonly kind: K;
  readonly topic: string;
  readonly payload: string | Buffer;
  readonly qos: 0 | 1;
  readonly retain: boolean;
}

/** The rest of a topic a kind's payload cannot carry (a bare count names no camera): see TopicAddress. */
export type AddressArgs<K extends TopicKind> = K extends keyof TopicAddress ? [at: TopicAddress[K]] : [];

/**
 * The message for one payload. Per-camera kinds (events, detections, clip, drift) take the camera level of
 * the topic from the payload's own `camera`, so topic and payload cannot name different cameras;
 * kinds whose payload is a bare value (label counts, snapshots, ON/OFF, discovery configs) take it from
 * `at`, which the compiler asks for exactly for those kinds. Throws E_TOPIC when a name is not topic-safe.
 */
export function outgoing<K extends TopicKind>(t: DeviceTopics, kind: K, payload: NoInfer<PayloadOf<K>>, ...at: NoInfer<AddressArgs<K>>): OutgoingMessage<K> {
  return withSpec(kind, topicOf(t, kind, payload, at[0] as TopicAddress[keyof TopicAddress] | undefined), encodePayload(kind, payload));
}

/**
 * A message encoded earlier and kept as topic and bytes (the agent's outbox stores no more):
 * QoS and retain come from the table again when it is sent, so a replay after an outage or a
 * restart goes out exactly as the first send would have.
 */
export function restored<K extends TopicKind>(kind: K, topic: string, payload: Buffer | string): OutgoingMessage<K> {
  return withSpec(kind, topic, payload);
}

function withSpec<K extends TopicKind>(kind: K, topic: string, payload: Buffer | string): OutgoingMessage<K> {
  const spec = TOPIC_SPECS[kind];
  return { kind, topic, payload, qos: spec.qos, retain: spec.retain };
}

function topicOf<K extends TopicKind>(t: DeviceTopics, kind: K, payload: PayloadOf<K>, at: TopicAddress[keyof TopicAddress] | undefined): string {
  switch (kind) {
    case 'status':
    case 'state':
    case 'stats':
    case 'modelSet':
    case 'modelState':
    case 'keysSet':
    case 'shadowSet':
    case 'shadowReport':
    case 'samples':
    case 'haStatus':
      return t[kind as 'status' | 'state' | 'stats' | 'modelSet' | 'modelState' | 'keysSet' | 'shadowSet' | 'shadowReport' | 'samples' | 'haStatus'];
    case 'events':
    case 'detections':
    case 'clip':
    case 'drift':
      break;
    default: {
      // Only a caller the compiler does not check gets here without an address.
      if (at === undefined) throw new KestrelError('E_TOPIC', `a ${kind} message needs its address (${kind === 'haDiscovery' ? 'component and object id' : 'camera'})`);
      const a = at as Partial<TopicAddress['labelCount'] & TopicAddress['haDiscovery']>;
      if (kind === 'labelCount') return t.labelCount(a.camera!, a.label!);
      if (kind === 'snapshot') return t.snapshot(a.camera!, a.label!);
      if (kind === 'detectSet') return t.detectSet(a.camera!);
      if (kind === 'detectState') return t.detectState(a.camera!);
      return t.haDiscovery(a.component!, a.objectId!);
    }
  }
  const camera = (payload as { camera?: unknown }).camera;
  // Only a caller the compiler does not check gets here without one; say so as the codec would.
  if (typeof camera !== 'string') {
    throw new KestrelError('E_PAYLOAD', `invalid ${kind} payload: camera: expected a string (it is the topic's camera level)`, {
      kind,
      issues: [{ path: 'camera', message: 'expected a string' }],
    });
  }
  return kind === 'events' ? t.events(camera) : kind === 'clip' ? t.clip(camera) : kind === 'drift' ? t.drift(camera) : t.detections(camera);
}

export interface Subscription {
  readonly filter: string;
  readonly qos: 0 | 1;
}

/**
 * A subscription to one kind of topic across the fleet (or one device's, given `deviceId`), at
 * the kind's QoS from the table (for Home Assistant's kinds `prefix` is the discovery prefix): the broker delivers at the lower of the publish and the
 * subscribe QoS, so asking for less than the table would silently downgrade delivery.
 */
export function subscription(prefix: string, kind: TopicKind, deviceId?: string): Subscription {
  return { filter: topicFilter(prefix, kind, deviceId), qos: TOPIC_SPECS[kind].qos };
}

/** Several subscriptions in the form mqtt.js's `subscribe` takes: `{ [filter]: { qos } }`. */
export function subscriptionMap(subscriptions: readonly Subscription[]): Record<string, { qos: 0 | 1 }> {
  return Object.fromEntries(subscriptions.map((s) => [s.filter, { qos: s.qos }]));
}

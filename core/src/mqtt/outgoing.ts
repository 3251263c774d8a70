import { KestrelError } from '../util/errors.js';
import { encodePayload } from './codec.js';
import type { PayloadOf } from './payloads.js';
import { TOPIC_SPECS, topicFilter, type CameraTopicKind, type DeviceTopics, type TopicKind } from './topics.js';

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

/**
 * The message for one payload. Per-camera kinds (events, detections) take the camera level of
 * the topic from the payload's own `camera`, so topic and payload cannot name different cameras.
 * Throws E_TOPIC when that camera name is not topic-safe.
 */
export function outgoing<K extends TopicKind>(t: DeviceTopics, kind: K, payload: NoInfer<PayloadOf<K>>): OutgoingMessage<K> {
  return withSpec(kind, topicOf(t, kind, payload), encodePayload(kind, payload));
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

function topicOf<K extends TopicKind>(t: DeviceTopics, kind: K, payload: PayloadOf<K>): string {
  if (kind !== 'events' && kind !== 'detections') return t[kind as Exclude<TopicKind, CameraTopicKind>];
  const camera = (payload as { camera?: unknown }).camera;
  // Only a caller the compiler does not check gets here without one; say so as the codec would.
  if (typeof camera !== 'string') {
    throw new KestrelError('E_PAYLOAD', `invalid ${kind} payload: camera: expected a string (it is the topic's camera level)`, {
      kind,
      issues: [{ path: 'camera', message: 'expected a string' }],
    });
  }
  return kind === 'events' ? t.events(camera) : t.detections(camera);
}

export interface Subscription {
  readonly filter: string;
  readonly qos: 0 | 1;
}

/**
 * A subscription to one kind of topic across the fleet (or one device's, given `deviceId`), at
 * the kind's QoS from the table: the broker delivers at the lower of the publish and the
 * subscribe QoS, so asking for less than the table would silently downgrade delivery.
 */
export function subscription(prefix: string, kind: TopicKind, deviceId?: string): Subscription {
  return { filter: topicFilter(prefix, kind, deviceId), qos: TOPIC_SPECS[kind].qos };
}

/** Several subscriptions in the form mqtt.js's `subscribe` takes: `{ [filter]: { qos } }`. */
export function subscriptionMap(subscriptions: readonly Subscription[]): Record<string, { qos: 0 | 1 }> {
  return Object.fromEntries(subscriptions.map((s) => [s.filter, { qos: s.qos }]));
}

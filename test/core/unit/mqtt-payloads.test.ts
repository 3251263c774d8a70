import { test } from 'node:test';
import assert from 'node:assert/strict';
import { z } from 'zod';
import {
  encodePayload,
  parsePayload,
  payloadJsonSchemas,
  PAYLOAD_VERSIONS,
  TOPIC_KINDS,
  type DetectionEvent,
  type DeviceState,
  type FrameDetections,
  type ModelSetManifest,
  type ModelState,
  type PayloadOf,
  type Sample,
  type Stats,
  type TopicKind,
} from '@kestrel/core/mqtt/index';

const SHA = 'a'.repeat(64);
const T0 = 1_760_000_000_000;

const event: DetectionEvent = {
  schema: 1,
  id: 'pi-1:door:t7:0',
  type: 'new',
  deviceId: 'pi-1',
  camera: 'door',
  trackId: 't7',
  label: 'person',
  score: 0.82,
  box: [10, 20, 110, 320],
  zones: ['porch'],
  firstSeen: T0,
  lastSeen: T0 + 400,
  frameTime: T0 + 400,
  modelVersion: '1.0.0',
  frameSize: [1920, 1080],
};

const state: DeviceState = {
  schema: 1,
  agentVersion: '0.1.0',
  deviceId: 'pi-1',
  startedAt: T0,
  updatedAt: T0 + 5000,
  model: { name: 'nanodet', version: '1.0.0', sha256: SHA, decoder: 'nanodet', labelCount: 80, inputSize: [416, 416], provider: 'cpu' },
  cameras: {
    door: { state: 'streaming', fps: 4.9, since: T0 + 1000, restarts: 0 },
    yard: { state: 'failed', fps: 0, lastError: 'connection refused', restarts: 3 },
  },
  degraded: ['camera yard: connection refused'],
};

const detections: FrameDetections = {
  schema: 1,
  deviceId: 'pi-1',
  camera: 'door',
  frameTime: T0,
  frameSize: [1920, 1080],
  modelVersion: '1.0.0',
  inferenceMs: 14.2,
  detections: [{ label: 'person', score: 0.9, box: [0, 0, 10, 10], trackId: 't7' }, { label: 'cat', score: 0.4, box: [5, 5, 6, 6] }],
};

const stats: Stats = {
  schema: 1,
  deviceId: 'pi-1',
  at: T0,
  intervalSeconds: 10,
  uptimeSeconds: 3600,
  inference: { ms: { p50: 14, p99: 22 }, queue: 0, provider: 'cpu' },
  cameras: {
    door: { fpsIn: 5, fpsProcessed: 4.8, fpsDropped: 0.2, framesIn: 18000, framesProcessed: 17300, framesDropped: 700, latencyMs: { p50: 30, p99: 61 }, queue: 1 },
    yard: { fpsIn: 0, fpsProcessed: 0, fpsDropped: 0, framesIn: 0, framesProcessed: 0, framesDropped: 0, latencyMs: null, queue: 0 },
  },
  outbox: { depth: 3, dropped: 0 },
};

const modelState: ModelState = {
  schema: 1,
  current: { name: 'nanodet', version: '1.1.0', sha256: SHA },
  previous: { name: 'nanodet', version: '1.0.0', sha256: 'b'.repeat(64) },
  status: 'applied',
  sequence: 12,
  updatedAt: T0,
};

const manifest: ModelSetManifest = {
  schema: 1,
  name: 'nanodet',
  version: '1.1.0',
  sha256: SHA,
  size: 3_800_000,
  url: 'https://hub.example.net/models/nanodet-1.1.0.onnx',
  release: 4,
  metadata: { decoder: 'nanodet', labelCount: 80, inputSize: [416, 416] },
  sequence: 13,
  issuedAt: T0,
  expires: T0 + 86_400_000,
  keyId: '0123456789abcdef',
  signature: Buffer.from('signature bytes').toString('base64'),
};

const sample: Sample = {
  schema: 1,
  id: 's1',
  deviceId: 'pi-1',
  camera: 'door',
  capturedAt: T0,
  reasons: ['uncertain'],
  modelVersion: '1.0.0',
  frameSize: [640, 480],
  detections: [{ label: 'person', score: 0.45, box: [1, 2, 3, 4] }],
  image: { contentType: 'image/jpeg', data: Buffer.from([0xff, 0xd8, 0xff, 0xd9]).toString('base64') },
};

const SAMPLES: { [K in TopicKind]: PayloadOf<K> } = {
  status: 'online',
  state,
  stats,
  modelSet: manifest,
  modelState,
  samples: sample,
  events: event,
  detections,
};

function parseError(kind: TopicKind, payload: string | Uint8Array): Error & { code?: string; details?: { kind: string; issues: { path: string }[] } } {
  try {
    parsePayload(kind, payload);
  } catch (err) {
    return err as Error & { code?: string };
  }
  assert.fail(`${kind} payload was accepted: ${String(payload)}`);
}

test('every payload kind survives encode → bytes → parse unchanged', () => {
  for (const kind of TOPIC_KINDS) {
    const bytes = Buffer.from(encodePayload(kind, SAMPLES[kind]));
    assert.deepEqual(parsePayload(kind, bytes), SAMPLES[kind], kind);
  }
});

test('status is plain text online/offline, as Home Assistant availability expects', () => {
  assert.equal(encodePayload('status', 'offline'), 'offline');
  assert.equal(parsePayload('status', Buffer.from('online')), 'online');
  assert.match(parseError('status', 'maybe').message, /^invalid status payload: /);
});

test('every JSON payload carries its schema version', () => {
  for (const kind of TOPIC_KINDS.filter((k) => k !== 'status')) {
    assert.equal(JSON.parse(encodePayload(kind, SAMPLES[kind])).schema, PAYLOAD_VERSIONS[kind as Exclude<TopicKind, 'status'>], kind);
  }
});

test('a payload that is not JSON is an E_PAYLOAD error naming the topic kind', () => {
  const err = parseError('events', Buffer.from('{"schema":1,'));
  assert.equal(err.code, 'E_PAYLOAD');
  assert.match(err.message, /^invalid events payload: not valid JSON/);
});

test('a payload of another schema version is refused as such, not as a list of field errors', () => {
  const err = parseError('state', JSON.stringify({ ...state, schema: 2 }));
  assert.equal(err.message, 'invalid state payload: schema: version 2 is not supported (this version of Kestrel reads 1)');
  assert.match(parseError('stats', JSON.stringify({ ...stats, schema: undefined })).message, /^invalid stats payload: schema: missing/);
  assert.match(parseError('events', '[1,2]').message, /expected a JSON object, got an array/);
});

test('a missing or malformed field is named with its path', () => {
  const { label: _label, ...withoutLabel } = event;
  const missing = parseError('events', JSON.stringify(withoutLabel));
  assert.match(missing.message, /^invalid events payload: label: /);
  assert.deepEqual(missing.details?.issues.map((i) => i.path), ['label']);

  assert.match(parseError('events', JSON.stringify({ ...event, box: [10, 20, 5, 30] })).message, /box: must be \[x1, y1, x2, y2\] with x2 >= x1/);
  assert.match(parseError('events', JSON.stringify({ ...event, box: [1, 2, 3] })).message, /box/);
  assert.match(parseError('events', JSON.stringify({ ...event, type: 'start' })).message, /type: /);
  assert.match(parseError('events', JSON.stringify({ ...event, score: 1.5 })).message, /score: /);
  assert.match(parseError('events', JSON.stringify({ ...event, camera: 'a/b' })).message, /camera: not usable in an MQTT topic/);
  assert.match(parseError('detections', JSON.stringify({ ...detections, detections: [{ label: 'x', score: 0.5 }] })).message, /detections\[0\]\.box: /);
  assert.match(parseError('state', JSON.stringify({ ...state, cameras: { door: { state: 'broken', fps: 1 } } })).message, /cameras\.door\.state: /);
  assert.match(parseError('modelSet', JSON.stringify({ ...manifest, sha256: 'xyz' })).message, /sha256: must be 64 lower-case hex digits/);
  assert.match(parseError('modelSet', JSON.stringify({ ...manifest, url: 'not a url' })).message, /url: /);
});

test('readers ignore fields they do not know, so a newer writer can add some', () => {
  const parsed = parsePayload('events', JSON.stringify({ ...event, colour: 'red' }));
  assert.equal(parsed.label, 'person');
  assert.equal((parsed as Record<string, unknown>).colour, undefined);
});

test('a JSON Schema is exported per topic kind, and it accepts the real payloads and rejects bad ones', () => {
  const schemas = payloadJsonSchemas();
  assert.deepEqual(Object.keys(schemas).sort(), [...TOPIC_KINDS].sort());
  for (const kind of TOPIC_KINDS) {
    const schema = schemas[kind];
    assert.equal(schema.$schema, 'https://json-schema.org/draft/2020-12/schema', kind);
    const validator = z.fromJSONSchema(schema as Parameters<typeof z.fromJSONSchema>[0]);
    const value = kind === 'status' ? SAMPLES[kind] : JSON.parse(encodePayload(kind, SAMPLES[kind]));
    const result = validator.safeParse(value);
    assert.ok(result.success, `${kind}: ${JSON.stringify(result.error?.issues)}`);
  }
  const events = z.fromJSONSchema(schemas.events as Parameters<typeof z.fromJSONSchema>[0]);
  assert.equal(events.safeParse({ ...event, schema: 2 }).success, false);
  assert.equal(events.safeParse({ ...event, box: 'x' }).success, false);
  assert.equal(events.safeParse({ ...event, extra: true }).success, true, 'additional properties are allowed');
  assert.equal(z.fromJSONSchema(schemas.status as Parameters<typeof z.fromJSONSchema>[0]).safeParse('maybe').success, false);
});

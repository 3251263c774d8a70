import { test } from 'node:test';
import assert from 'node:assert/strict';
import { z } from 'zod';
import {
  encodePayload,
  parsePayload,
  payloadJsonSchemas,
  PAYLOAD_FORMATS,
  PAYLOAD_VERSIONS,
  TOPIC_KINDS,
  type TopicKind,
  type VersionedTopicKind,
} from '@kestrel/core/mqtt/index';
import { detections, event, manifest, SAMPLES, state, stats } from '../support/mqtt-samples.js';

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

test('every Kestrel JSON payload carries its schema version; Home Assistant\'s configs carry none', () => {
  for (const kind of TOPIC_KINDS.filter((k) => PAYLOAD_FORMATS[k] === 'json')) {
    assert.ok(PAYLOAD_VERSIONS[kind as VersionedTopicKind].includes(JSON.parse(encodePayload(kind, SAMPLES[kind])).schema), kind);
  }
  assert.equal(JSON.parse(encodePayload('haDiscovery', SAMPLES.haDiscovery)).schema, undefined);
});

test('label and detect payloads are plain text as Home Assistant reads them; an empty discovery payload stays empty', () => {
  assert.equal(encodePayload('labelCount', 3), '3');
  assert.equal(parsePayload('labelCount', Buffer.from('12')), 12);
  for (const bad of ['', '-1', '1.5', '01', 'two', ' 3']) assert.equal(parseError('labelCount', bad).code, 'E_PAYLOAD', JSON.stringify(bad));
  assert.equal(parsePayload('detectSet', 'OFF'), 'OFF');
  for (const bad of ['on', 'TRUE', '', '{"state":"ON"}']) assert.match(parseError('detectSet', bad).message, /^invalid detectSet payload: /, bad);
  assert.equal(encodePayload('haDiscovery', ''), '');
  assert.equal(parsePayload('haDiscovery', Buffer.alloc(0)), '');
  assert.match(parseError('haDiscovery', '{"name":"x"}').message, /^invalid haDiscovery payload: /);
});

test('a snapshot is the JPEG bytes as they are, and only a JPEG is read as one', () => {
  const jpeg = SAMPLES.snapshot;
  assert.equal(encodePayload('snapshot', jpeg), jpeg);
  assert.deepEqual(parsePayload('snapshot', new Uint8Array(jpeg)), jpeg);
  for (const bad of ['', 'ON', '{"schema":1}']) assert.match(parseError('snapshot', bad).message, /^invalid snapshot payload: must be a JPEG/, JSON.stringify(bad));
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

test('an event reason is optional and any non-empty text: an older agent sends none, a newer one may add reasons', () => {
  assert.equal(parsePayload('events', JSON.stringify(event)).reason, undefined);
  assert.equal(parsePayload('events', JSON.stringify({ ...event, type: 'end', reason: 'restart' })).reason, 'restart');
  assert.equal(parsePayload('events', JSON.stringify({ ...event, reason: 'some-later-reason' })).reason, 'some-later-reason');
  assert.match(parseError('events', JSON.stringify({ ...event, reason: '' })).message, /reason: /);
});

test('a JSON Schema is exported per topic kind, and it accepts the real payloads and rejects bad ones', () => {
  const schemas = payloadJsonSchemas();
  assert.deepEqual(Object.keys(schemas).sort(), [...TOPIC_KINDS].sort());
  for (const kind of TOPIC_KINDS) {
    const schema = schemas[kind];
    // Bytes have no JSON Schema beyond their media type.
    if (PAYLOAD_FORMATS[kind] === 'binary') {
      assert.equal(schema.contentMediaType, 'image/jpeg', kind);
      continue;
    }
    assert.equal(schema.$schema, 'https://json-schema.org/draft/2020-12/schema', kind);
    const validator = z.fromJSONSchema(schema as Parameters<typeof z.fromJSONSchema>[0]);
    // A text payload's schema describes the text itself (a count is "2").
    const value = PAYLOAD_FORMATS[kind] === 'text' ? encodePayload(kind, SAMPLES[kind]) : JSON.parse(encodePayload(kind, SAMPLES[kind]));
    const result = validator.safeParse(value);
    assert.ok(result.success, `${kind}: ${JSON.stringify(result.error?.issues)}`);
  }
  const events = z.fromJSONSchema(schemas.events as Parameters<typeof z.fromJSONSchema>[0]);
  assert.equal(events.safeParse({ ...event, schema: 2 }).success, false);
  assert.equal(events.safeParse({ ...event, box: 'x' }).success, false);
  assert.equal(events.safeParse({ ...event, extra: true }).success, true, 'additional properties are allowed');
  assert.equal(z.fromJSONSchema(schemas.status as Parameters<typeof z.fromJSONSchema>[0]).safeParse('maybe').success, false);
});

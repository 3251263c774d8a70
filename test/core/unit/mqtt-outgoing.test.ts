import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import {
  encodePayload,
  outgoing,
  parsePayload,
  restored,
  subscription,
  subscriptionMap,
  TOPIC_KINDS,
  TOPIC_SPECS,
  topics,
  type AddressArgs,
  type OutgoingMessage,
  type TopicKind,
} from '@kestrel/core/mqtt/index';
import { event, SAMPLES, stats } from '../support/mqtt-samples.js';

const t = topics('kestrel', 'pi-1');

const ADDRESS: { [K in TopicKind]: AddressArgs<K> } = {
  status: [], state: [], stats: [], modelSet: [], modelState: [], keysSet: [], shadowSet: [], shadowReport: [], samples: [], events: [], detections: [], clip: [], drift: [], haStatus: [],
  labelCount: [{ camera: 'door', label: 'person' }],
  snapshot: [{ camera: 'door', label: 'person' }],
  detectSet: [{ camera: 'door' }],
  detectState: [{ camera: 'door' }],
  haDiscovery: [{ component: 'binary_sensor', objectId: 'door_person' }],
};

function build<K extends TopicKind>(kind: K): OutgoingMessage<K> {
  return outgoing(t, kind, SAMPLES[kind], ...ADDRESS[kind]);
}

test('every kind goes out on its topic with the table QoS and retain flag and a codec-encoded payload', () => {
  const expectedTopic: Record<TopicKind, string> = {
    status: t.status,
    state: t.state,
    stats: t.stats,
    modelSet: t.modelSet,
    keysSet: t.keysSet,
    modelState: t.modelState,
    shadowSet: t.shadowSet,
    shadowReport: t.shadowReport,
    samples: t.samples,
    events: t.events('door'),
    detections: t.detections('door'),
    clip: t.clip('door'),
    drift: t.drift('door'),
    labelCount: t.labelCount('door', 'person'),
    snapshot: t.snapshot('door', 'person'),
    detectSet: t.detectSet('door'),
    detectState: t.detectState('door'),
    haStatus: t.haStatus,
    haDiscovery: t.haDiscovery('binary_sensor', 'door_person'),
  };
  for (const kind of TOPIC_KINDS) {
    const message = build(kind);
    assert.deepEqual(
      message,
      { kind, topic: expectedTopic[kind], payload: encodePayload(kind, SAMPLES[kind]), qos: TOPIC_SPECS[kind].qos, retain: TOPIC_SPECS[kind].retain },
      kind,
    );
    assert.deepEqual(parsePayload(kind, message.payload), SAMPLES[kind], `${kind} reads back`);
  }
});

test('a per-camera message takes its camera level from the payload, and refuses one that is not topic-safe', () => {
  assert.equal(outgoing(t, 'events', { ...event, camera: 'yard' }).topic, 'kestrel/pi-1/yard/events');
  assert.throws(() => outgoing(t, 'events', { ...event, camera: 'a/b' }), { code: 'E_TOPIC' });
});

test('a restored message (an outbox row: topic and bytes) gets the QoS and retain flag from the table again', () => {
  const first = build('events');
  const bytes = Buffer.from(first.payload);
  const again = restored('events', first.topic, bytes);
  assert.deepEqual(again, { ...first, payload: bytes });
  for (const kind of TOPIC_KINDS) {
    const m = restored(kind, 'x', 'y');
    assert.deepEqual([m.qos, m.retain], [TOPIC_SPECS[kind].qos, TOPIC_SPECS[kind].retain], kind);
  }
});

test('subscriptions ask for the table QoS of their kind', () => {
  assert.deepEqual(subscription('kestrel', 'modelSet', 'pi-1'), { filter: 'kestrel/pi-1/model/set', qos: 1 });
  assert.deepEqual(subscription('kestrel', 'detections'), { filter: 'kestrel/+/+/detections', qos: 0 });
  assert.deepEqual(subscriptionMap([subscription('kestrel', 'status'), subscription('kestrel', 'stats')]), {
    'kestrel/+/status': { qos: 1 },
    'kestrel/+/stats': { qos: 0 },
  });
});

test('a payload of the wrong shape, forced past the types, is an E_PAYLOAD error: at once without a camera, else from the reader', () => {
  // The casts stand for a caller the compiler does not check (JavaScript, `as`). Publishing does
  // not validate (types do that at build time, and it would cost every frame); the reader's
  // validation is what stops such a message, and an events payload without a camera has no topic.
  const cases: [TopicKind, unknown][] = [
    ['events', stats],
    ['stats', { ...stats, schema: 2 }],
    ['status', 'maybe'],
    ['modelState', { ...SAMPLES.modelState, status: 'done' }],
  ];
  for (const [kind, payload] of cases) {
    assert.throws(() => parsePayload(kind, outgoing(t, kind as 'stats', payload as never).payload as string), { code: 'E_PAYLOAD' }, kind);
  }
});

// Compile-time checks: each line below must be a type error. The next test type-checks this
// file, and an `@ts-expect-error` on a line that compiles is itself an error (TS2578).
function typeErrors(): void {
  // @ts-expect-error stats is not an events payload
  outgoing(t, 'events', stats);
  // @ts-expect-error status is 'online' or 'offline'
  outgoing(t, 'status', 'maybe');
  // @ts-expect-error a state payload lacks the model/state fields
  outgoing(t, 'modelState', SAMPLES.state);
  // @ts-expect-error not a topic kind
  outgoing(t, 'telemetry', stats);
  // @ts-expect-error a message's QoS is the table's, not the caller's to change
  build('stats').qos = 1;
  // @ts-expect-error a count names no camera: the address is required
  outgoing(t, 'labelCount', 3);
  // @ts-expect-error a count is a number, not text
  outgoing(t, 'labelCount', '3', { camera: 'door', label: 'person' });
  // @ts-expect-error events take their camera from the payload, not from an address
  outgoing(t, 'events', event, { camera: 'door' });
}
void typeErrors;

test('a payload of the wrong shape for its kind is a type error (this file type-checks, @ts-expect-error lines included)', { timeout: 120_000 }, () => {
  const file = fileURLToPath(import.meta.url);
  const program = ts.createProgram([file], {
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    lib: ['lib.es2023.d.ts'],
    types: ['node'],
    strict: true,
    skipLibCheck: true,
    noEmit: true,
    // As test/run.mjs runs the tests: workspace packages resolve to their sources.
    customConditions: ['kestrel-source'],
  });
  const problems = ts
    .getPreEmitDiagnostics(program)
    .filter((d) => d.file === undefined || d.file.fileName === file)
    .map((d) => {
      const where = d.file && d.start !== undefined ? `line ${d.file.getLineAndCharacterOfPosition(d.start).line + 1}: ` : '';
      return `${where}${ts.flattenDiagnosticMessageText(d.messageText, '\n')}`;
    });
  assert.deepEqual(problems, []);
});

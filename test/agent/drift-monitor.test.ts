// The drift monitor between the loop and MQTT, on a real broker (the agent's MqttLink) with a real
// sampler: a comparison goes out retained and boosts the sampler for that camera only; a model
// swap starts afresh and lets the boost go; a model whose baseline is damaged is learned for
// instead, and says so; a camera removed by a reload takes its retained message with it.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { driftSchema } from '@kestrel/config';
import {
  AREA_BINS, COUNT_EDGES, SCORE_BINS, defaultInputSpec, parsePayload, topics, withDriftBaseline,
  type DriftAlert, type DriftBaseline, type KestrelMetadata,
} from '@kestrel/core';
import { DriftMonitor } from '@kestrel/agent/drift/index';
import { MqttLink } from '@kestrel/agent/publish/mqtt-link';
import { Sampler } from '@kestrel/agent/sampling/index';
import type { ModelInfo } from '@kestrel/agent/inference/protocol';
import { startBroker, type BrokerHandle } from '../support/broker.js';
import { uniquePrefix } from '../support/ports.js';
import { det, noiseFrame, quietLogger, samplingConfig } from './sampling/support/frames.js';
import { waitFor } from './support/agent-process.js';

const dir = mkdtempSync(join(tmpdir(), 'kestrel-drift-monitor-'));
let broker: BrokerHandle | undefined;
const cleanups: (() => Promise<unknown> | unknown)[] = [];
after(async () => {
  for (const c of cleanups.reverse()) await c();
  await broker?.stop();
  rmSync(dir, { recursive: true, force: true });
});

/** Near-certain large persons, 2 a frame. */
function baseline(): DriftBaseline {
  const count = new Array(COUNT_EDGES.length).fill(0);
  count[2] = 500;
  const score = new Array(SCORE_BINS).fill(0);
  score[9] = 1000;
  const area = new Array(AREA_BINS).fill(0);
  area[8] = 1000;
  return { schema: 1, source: 'test', at: 0, minScore: 0.35, frames: 500, count, classes: { person: { score, area } } };
}

function model(sha: string, extra?: KestrelMetadata['extra'], withBaseline = false): ModelInfo {
  let meta: KestrelMetadata = { decoder: 'yolov8', labels: ['person'], input: defaultInputSpec(64, 64), version: sha.slice(0, 4), ...(extra && { extra }) };
  if (withBaseline) meta = withDriftBaseline(meta, baseline());
  return { path: `/models/${sha.slice(0, 4)}.onnx`, sha256: sha, meta, provider: 'cpu', skippedProviders: [] };
}

test('comparisons go out retained and boost the sampler per camera; a new model starts afresh; a damaged baseline is learned for; a removed camera\'s message goes', { timeout: 60_000 }, async () => {
  broker = await startBroker();
  const prefix = uniquePrefix('driftmon');
  const t = topics(prefix, 'mon-1');
  const link = new MqttLink({ url: broker.url, clientId: `${prefix}-agent`, reconnect: { minMs: 100, maxMs: 1000 }, topics: t }, quietLogger);
  link.start();
  cleanups.push(() => link.stop());
  await waitFor('the link connected', 10_000, () => (link.connected ? true : undefined));
  const sampler = new Sampler({ config: samplingConfig({ dedup: { enabled: false }, strategies: { uncertainty: { enabled: false }, drift: { probability: 1, quota: { perMinute: 100 } } } }), deviceId: 'mon-1', mqttPrefix: prefix, logger: quietLogger });
  await sampler.start();
  cleanups.push(() => sampler.stop());

  let current = model('a'.repeat(64), undefined, true);
  let now = 1_000_000;
  const monitor = new DriftMonitor({
    config: driftSchema.parse({ intervalS: 60, minCount: 20, learnMinutes: 1 }),
    deviceId: 'mon-1',
    topics: t,
    link,
    sampler,
    model: () => current,
    minScore: () => 0.35,
    stateDir: join(dir, 'state'),
    logger: quietLogger,
    now: () => now,
  });
  monitor.start();
  cleanups.push(() => monitor.stop());

  const client = await mqtt.connectAsync(broker.url, { clientId: `${prefix}-sub`, reconnectPeriod: 0 });
  cleanups.push(() => client.endAsync(true));
  const received: { topic: string; alert?: DriftAlert; empty: boolean }[] = [];
  client.on('message', (topic, payload) => received.push({ topic, empty: payload.length === 0, ...(payload.length > 0 && { alert: parsePayload('drift', payload) }) }));
  await client.subscribeAsync(`${prefix}/mon-1/+/drift`, { qos: 1 });

  // door sees small, unsure persons, one a frame; yard too few frames to judge.
  const unsure = [det('person', 0.4, [0, 0, 20, 20])];
  for (let i = 0; i < 30; i++) monitor.observe('door', unsure, 1280 * 720);
  for (let i = 0; i < 5; i++) monitor.observe('yard', unsure, 1280 * 720);
  monitor.tick();
  const door = await waitFor('door\'s drift message', 10_000, () => received.find((r) => r.topic === t.drift('door'))?.alert);
  assert.equal(door.drifted, true);
  assert.equal(door.baseline, 'model');
  assert.equal(door.modelVersion, 'aaaa');
  assert.ok(monitor.isDrifted('door'));
  assert.equal(monitor.isDrifted('yard'), false);
  assert.equal(monitor.takeStats('door')?.psi, door.psi, 'the stats take it once');
  assert.equal(monitor.takeStats('door'), undefined);

  const consider = (camera: string) => sampler.consider(noiseFrame({ camera }), unsure, 'v');
  consider('door');
  consider('yard');
  await sampler.flush();
  assert.deepEqual([sampler.cameraStats().door.kept, sampler.cameraStats().yard.kept], [1, 0], 'only the drifted camera is boosted');

  // A new model without a baseline: every camera starts afresh (learning), and the boost goes.
  current = model('b'.repeat(64));
  monitor.observe('door', unsure, 1280 * 720);
  assert.equal(monitor.isDrifted('door'), false);
  consider('door');
  await sampler.flush();
  assert.equal(sampler.cameraStats().door.kept, 1, 'no longer boosted');
  assert.deepEqual(monitor.degraded(), []);

  // A model whose baseline does not parse: learned for instead, and said.
  current = model('c'.repeat(64), { drift_baseline: '{"schema": 1' });
  monitor.observe('door', unsure, 1280 * 720);
  assert.match(monitor.degraded()[0] ?? '', /drift baseline of the model unusable, learning one: \/models\/cccc\.onnx: the drift baseline is not valid JSON/);
  for (let i = 0; i < 30; i++) monitor.observe('door', unsure, 1280 * 720);
  now += 61_000;
  monitor.tick();
  for (let i = 0; i < 30; i++) monitor.observe('door', unsure, 1280 * 720);
  monitor.tick();
  const learned = await waitFor('a comparison against the learned baseline', 10_000, () => received.find((r) => r.alert?.modelVersion === 'cccc')?.alert);
  assert.equal(learned.baseline, 'learned');
  assert.equal(learned.drifted, false, 'the same scene as it learned');

  // A reload removed door: its retained message is removed.
  monitor.keepOnly(['yard']);
  await waitFor('door\'s retained message removed', 10_000, () => (received.some((r) => r.topic === t.drift('door') && r.empty) ? true : undefined));
  const late = await mqtt.connectAsync(broker.url, { clientId: `${prefix}-late`, reconnectPeriod: 0 });
  try {
    const retained: string[] = [];
    late.on('message', (topic, payload) => payload.length > 0 && retained.push(topic));
    await late.subscribeAsync(`${prefix}/mon-1/+/drift`, { qos: 1 });
    await new Promise((r) => setTimeout(r, 500));
    assert.deepEqual(retained, [], 'nothing retained for a camera that is gone');
  } finally {
    await late.endAsync(true);
  }
});

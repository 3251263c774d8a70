// Drift on a real agent (demo camera through ffmpeg, NanoDet on ONNX Runtime, a real broker): the
// bundled model is given a baseline far from what the demo shows (every frame full of whole-frame,
// near-certain objects), so the first comparison raises the camera's drift alert, retained on
// <camera>/drift; the figures ride in the stats; and while drifted the sampler's drift strategy
// keeps the camera's frames.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { checkConfig, type LoadedConfig } from '@kestrel/config';
import {
  BUNDLED_MODEL_PATH, COUNT_EDGES, AREA_BINS, SCORE_BINS, createLogger, parsePayload, readMetadata, readModel, withDriftBaseline, writeMetadata, writeModel,
  type DriftAlert, type DriftBaseline, type Stats,
} from '@kestrel/core';
import { Agent } from '@kestrel/agent';
import { startBroker, type BrokerHandle } from '../support/broker.js';
import { uniquePrefix } from '../support/ports.js';
import { waitFor } from './support/agent-process.js';

const dir = mkdtempSync(join(tmpdir(), 'kestrel-drift-agent-'));
let broker: BrokerHandle | undefined;
let agent: Agent | undefined;
let client: mqtt.MqttClient | undefined;
let retainedTopic: string | undefined;
after(async () => {
  await agent?.stop();
  // The shared broker keeps nothing of this test.
  if (retainedTopic) await client?.publishAsync(retainedTopic, '', { retain: true, qos: 1 });
  await client?.endAsync(true);
  await broker?.stop();
  rmSync(dir, { recursive: true, force: true });
});

function config(lines: string[]): LoadedConfig {
  const r = checkConfig({ text: lines.join('\n') });
  assert.ok(r.ok, JSON.stringify(r.errors));
  return r.config;
}

/** A baseline no camera matches: 13+ detections in every frame, each a near-certain person filling the frame. */
function farBaseline(): DriftBaseline {
  const count = new Array(COUNT_EDGES.length).fill(0);
  count[COUNT_EDGES.length - 1] = 1000;
  const score = new Array(SCORE_BINS).fill(0);
  score[SCORE_BINS - 1] = 13_000;
  const area = new Array(AREA_BINS).fill(0);
  area[AREA_BINS - 1] = 13_000;
  return { schema: 1, source: 'test: far from the demo', at: 0, minScore: 0.35, frames: 1000, count, classes: { person: { score, area } } };
}

test('a baseline far from the scene raises a retained drift alert, puts the figures in stats and boosts the sampler', { timeout: 120_000 }, async () => {
  broker = await startBroker();
  const model = await readModel(BUNDLED_MODEL_PATH);
  writeMetadata(model, withDriftBaseline(readMetadata(model), farBaseline()));
  const modelPath = join(dir, 'far-baseline.onnx');
  await writeModel(model, modelPath);

  const prefix = uniquePrefix('drift');
  const deviceId = 'drift-1';
  agent = new Agent(
    config([
      `device: { id: ${deviceId} }`,
      `mqtt: { url: "${broker.url}", prefix: ${prefix}, statsIntervalSeconds: 2 }`,
      `stateDir: "${join(dir, 'state')}"`,
      'http: { enabled: false }',
      `model: { path: "${modelPath}", threads: 1 }`,
      // Short interval and few samples, so the test sees a comparison in seconds.
      'drift: { intervalS: 10, minCount: 5, threshold: 0.25 }',
      'sampling:',
      '  enabled: true',
      '  dedup: { enabled: false }',
      '  strategies: { uncertainty: { enabled: false }, drift: { probability: 1 } }',
      'cameras:',
      '  - name: demo',
      '    source: { type: demo }',
      '    fps: 4',
      '    motion: { enabled: false }',
    ]),
    { logger: createLogger('drift', { level: 'error' }), brokerConfigured: true, env: {} },
  );

  client = await mqtt.connectAsync(broker.url, { clientId: `drift-test-${process.pid}`, reconnectPeriod: 0 });
  const alerts: { alert: DriftAlert; retain: boolean }[] = [];
  const stats: Stats[] = [];
  client.on('message', (topic, payload, packet) => {
    if (topic === `${prefix}/${deviceId}/demo/drift` && payload.length > 0) alerts.push({ alert: parsePayload('drift', payload), retain: packet.retain });
    if (topic === `${prefix}/${deviceId}/stats`) stats.push(parsePayload('stats', payload));
  });
  await client.subscribeAsync([`${prefix}/${deviceId}/+/drift`, `${prefix}/${deviceId}/stats`], { qos: 1 });
  await agent.start();

  const { alert } = await waitFor('a drift alert', 40_000, () => alerts[0]);
  assert.equal(alert.drifted, true);
  assert.equal(alert.camera, 'demo');
  assert.equal(alert.deviceId, deviceId);
  assert.equal(alert.baseline, 'model');
  assert.equal(alert.threshold, 0.25);
  assert.ok(alert.psi > 0.25, `psi ${alert.psi}`);
  assert.ok(alert.js > 0 && alert.js <= 1);
  const count = alert.figures.find((f) => f.histogram === 'count');
  assert.ok(count && count.psi > 0.25, 'the demo never shows 13 objects a frame');
  assert.ok(alert.worst && alert.worst.psi === alert.psi);
  assert.ok(alert.perFrame < 13 && alert.baselinePerFrame === 13, `per frame ${alert.perFrame} vs ${alert.baselinePerFrame}`);
  assert.ok(alert.window && alert.window.frames >= 5, 'the compared window travels with it');
  assert.equal(alert.since, alert.at, 'the alert began with this comparison');

  // And the gauges.
  const metrics = await agent!.metrics.render();
  assert.match(metrics, /^kestrel_drift_alert\{camera="demo"\} 1$/m);
  assert.match(metrics, new RegExp(`^kestrel_drift_psi\\{camera="demo"\\} ${alert.psi}$`, 'm'));

  // The figures reach the next stats message once.
  const withDrift = await waitFor('stats with drift figures', 10_000, () => stats.find((s) => s.cameras.demo?.drift));
  assert.equal(withDrift.cameras.demo.drift!.at, alert.at);
  assert.equal(withDrift.cameras.demo.drift!.psi, alert.psi);

  // Drifted, the sampler keeps the camera's frames (its only strategy is drift).
  const kept = await waitFor('a sample kept while drifted', 20_000, () => stats.find((s) => (s.samples?.kept ?? 0) > 0));
  assert.ok(kept.samples!.kept > 0);

  // Retained: a subscriber that comes later learns the camera's drift at once.
  const late = await mqtt.connectAsync(broker.url, { clientId: `drift-late-${process.pid}`, reconnectPeriod: 0 });
  try {
    const retained = new Promise<{ payload: Buffer; retain: boolean }>((resolve) => late.on('message', (_t, payload, packet) => resolve({ payload, retain: packet.retain })));
    await late.subscribeAsync(`${prefix}/${deviceId}/demo/drift`, { qos: 1 });
    const got = await Promise.race([retained, new Promise<undefined>((r) => setTimeout(r, 5000))]);
    assert.ok(got?.retain, 'the drift message is retained');
    assert.equal(parsePayload('drift', got.payload).drifted, true);
  } finally {
    await late.endAsync(true);
  }
  retainedTopic = `${prefix}/${deviceId}/demo/drift`;
});

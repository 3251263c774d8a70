// /healthz and /metrics of real agents (demo camera through ffmpeg, NanoDet on ONNX Runtime,
// Mosquitto), two of them in this one process at once: each has its own metrics registry, so
// their series never mix, and each answers on its own port.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkConfig, type LoadedConfig } from '@kestrel/config';
import { createLogger } from '@kestrel/core';
import { Agent } from '@kestrel/agent';
import { startBroker, type BrokerHandle } from '../support/broker.js';
import { freePort, uniquePrefix } from '../support/ports.js';
import { httpGet, metric, waitFor } from './support/agent-process.js';

const dir = mkdtempSync(join(tmpdir(), 'kestrel-health-'));
const agents: Agent[] = [];
let broker: BrokerHandle | undefined;
after(async () => {
  await Promise.all(agents.map((a) => a.stop()));
  await broker?.stop();
  rmSync(dir, { recursive: true, force: true });
});

function config(lines: string[]): LoadedConfig {
  const r = checkConfig({ text: lines.join('\n') });
  assert.ok(r.ok, JSON.stringify(r.errors));
  return r.config;
}

async function startAgent(name: string, cameraLines: string[]): Promise<{ agent: Agent; port: number }> {
  broker ??= await startBroker();
  const port = await freePort();
  const agent = new Agent(
    config([
      `device: { id: ${name} }`,
      `mqtt: { url: "${broker.url}", prefix: ${uniquePrefix('health')} }`,
      `stateDir: "${join(dir, name)}"`,
      `http: { enabled: true, bind: "127.0.0.1:${port}" }`,
      'model: { threads: 1 }',
      'cameras:',
      ...cameraLines,
    ]),
    { logger: createLogger(name, { level: 'error' }), brokerConfigured: true, env: {} },
  );
  agents.push(agent);
  await agent.start();
  return { agent, port };
}

test('a working agent: /healthz 200 with details, /metrics counts frames, inference, MQTT and the outbox', { timeout: 90_000 }, async () => {
  const deadPort = await freePort();
  const [good, bad] = await Promise.all([
    startAgent('health-good', ['  - name: demo', '    source: { type: demo }', '    fps: 2']),
    startAgent('health-bad', ['  - name: gate', `    source: { type: rtsp, url: "rtsp://127.0.0.1:${deadPort}/x" }`, '    fps: 1']),
  ]);

  const healthy = await waitFor('/healthz 200', 60_000, async () => {
    const r = await httpGet(good.port, '/healthz');
    return r.status === 200 ? r : undefined;
  }, 250);
  assert.equal(healthy.type, 'application/json');
  const body = JSON.parse(healthy.body);
  assert.equal(body.status, 'ok');
  assert.deepEqual(body.reasons, []);
  assert.equal(body.cameras.demo.state, 'streaming');
  assert.equal(body.inference.ok, true);
  assert.equal(body.inference.provider, 'cpu');
  assert.equal(body.mqtt.connected, true);
  assert.equal(body.outbox.durable, true);

  const text = await waitFor('processed frames in /metrics', 30_000, async () => {
    const t = (await httpGet(good.port, '/metrics')).body;
    return (metric(t, 'kestrel_frames_processed_total', { camera: 'demo' }) ?? 0) >= 3 ? t : undefined;
  }, 250);
  const m = (name: string, labels: Record<string, string> = {}) => metric(text, name, labels);
  assert.ok(m('kestrel_frames_in_total', { camera: 'demo' })! >= m('kestrel_frames_processed_total', { camera: 'demo' })!);
  assert.ok(m('kestrel_inference_seconds_count')! >= 3);
  assert.ok(m('kestrel_inference_seconds_sum')! > 0);
  assert.ok(m('kestrel_end_to_end_seconds_count', { camera: 'demo' })! >= 3);
  assert.equal(m('kestrel_mqtt_connected'), 1);
  assert.equal(m('kestrel_outbox_depth'), 0);
  assert.equal(m('kestrel_outbox_dropped_total', { reason: 'budget' }), 0);
  assert.equal(m('kestrel_camera_up', { camera: 'demo' }), 1);
  assert.equal(m('kestrel_inference_up'), 1);
  assert.equal(m('kestrel_inference_worker_restarts_total'), 0);
  assert.equal(m('kestrel_agent_info', { device: 'health-good', provider: 'cpu', model: 'nanodet-416' }), 1);
  assert.ok(m('process_resident_memory_bytes')! > 0, 'process metrics too');
  assert.match(text, /# TYPE kestrel_inference_seconds histogram/);
  assert.equal(m('kestrel_frames_in_total', { camera: 'gate' }), undefined, "the other agent's camera is not in this registry");

  // The agent whose camera cannot be reached: 503, and why.
  const unhealthy = await waitFor('/healthz 503 with the camera failed', 30_000, async () => {
    const r = await httpGet(bad.port, '/healthz');
    const b = JSON.parse(r.body);
    return r.status === 503 && b.cameras.gate.state === 'failed' ? b : undefined;
  }, 250);
  assert.equal(unhealthy.status, 'unhealthy');
  assert.match(unhealthy.cameras.gate.lastError, /Connection refused/);
  assert.match(unhealthy.reasons.join('\n'), /camera gate is failed: .*Connection refused/);
  assert.equal(unhealthy.inference.ok, true, 'inference itself is fine');
  const badText = (await httpGet(bad.port, '/metrics')).body;
  assert.equal(metric(badText, 'kestrel_camera_up', { camera: 'gate' }), 0);
  assert.equal(metric(badText, 'kestrel_camera_state', { camera: 'gate', state: 'failed' }), 1);
  assert.ok(metric(badText, 'kestrel_source_restarts_total', { camera: 'gate' })! >= 1);
  assert.equal(metric(badText, 'kestrel_frames_in_total', { camera: 'demo' }), undefined);

  // Only the two routes, read-only.
  assert.equal((await httpGet(good.port, '/nope')).status, 404);
  assert.equal((await httpGet(good.port, '/healthz', 'POST')).status, 405);
  const head = await httpGet(good.port, '/healthz', 'HEAD');
  assert.equal(head.status, 200);
  assert.equal(head.body, '');

  // Stopping closes the endpoint.
  const t0 = Date.now();
  await Promise.all([good.agent.stop(), bad.agent.stop()]);
  console.log(`two agents stopped in ${Date.now() - t0} ms`);
  await assert.rejects(httpGet(good.port, '/healthz'), /ECONNREFUSED/);
});

test('a taken http.bind port: the agent runs without the endpoint and says why in degraded', { timeout: 60_000 }, async () => {
  const { createServer } = await import('node:net');
  const squatter = createServer();
  const port = await freePort();
  await new Promise<void>((r) => squatter.listen(port, '127.0.0.1', () => r()));
  try {
    broker ??= await startBroker();
    const agent = new Agent(
      config([`device: { id: health-port }`, `mqtt: { url: "${broker.url}", prefix: ${uniquePrefix('health')} }`, `stateDir: "${join(dir, 'port')}"`, `http: { bind: "127.0.0.1:${port}" }`, 'model: { threads: 1 }', 'cameras:', '  - name: demo', '    source: { type: demo }', '    fps: 1']),
      { logger: createLogger('health-port', { level: 'silent' }), brokerConfigured: true, env: {} },
    );
    agents.push(agent);
    await agent.start();
    const reasons = agent.degradedReasons();
    assert.ok(reasons.some((r) => r.includes(`127.0.0.1:${port}`) && r.includes('already in use')), reasons.join('; '));
    await agent.stop();
  } finally {
    squatter.close();
  }
});

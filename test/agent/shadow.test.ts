// Shadow comparison on a real agent (demo camera through ffmpeg, NanoDet on ONNX Runtime, a real
// broker, a real hub serving a signed release): the candidate is the bundled model with other
// metadata (another file, another SHA-256, the same weights), so it must agree with the serving
// model on every compared frame. The device downloads and verifies it, never swaps to it, reports
// on the retained `shadow` topic, and stops when the hub says so; a manifest signed by a key it
// does not trust is refused with the reason in the report.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, existsSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { checkConfig, type LoadedConfig } from '@kestrel/config';
import { BUNDLED_MODEL_PATH, createLogger, generateReleaseKeyPair, parsePayload, readMetadata, readModel, encodeModel, signManifest, writeMetadata, type ShadowReport } from '@kestrel/core';
import { createPrivateKey } from 'node:crypto';
import { Agent } from '@kestrel/agent';
import { startBroker, type BrokerHandle } from '../support/broker.js';
import { uniquePrefix } from '../support/ports.js';
import { waitFor } from './support/agent-process.js';
import { startTestHub, type TestHub } from './support/update-hub.js';
import { fixedDetector } from './support/update-kit.js';

const dir = mkdtempSync(join(tmpdir(), 'kestrel-shadow-agent-'));
let broker: BrokerHandle | undefined;
let hub: TestHub | undefined;
let agent: Agent | undefined;
let client: mqtt.MqttClient | undefined;
const retained: string[] = [];
after(async () => {
  await agent?.stop();
  // The shared broker keeps nothing of this test.
  for (const topic of retained) await client?.publishAsync(topic, '', { retain: true, qos: 1 });
  await client?.endAsync(true);
  await hub?.close();
  await broker?.stop();
  rmSync(dir, { recursive: true, force: true });
});

function config(lines: string[]): LoadedConfig {
  const r = checkConfig({ text: lines.join('\n') });
  assert.ok(r.ok, JSON.stringify(r.errors));
  return r.config;
}

test('a candidate with the same weights runs beside the serving model, agrees on every frame, is never swapped in, and stops on the hub\'s word', { timeout: 120_000 }, async () => {
  broker = await startBroker();
  hub = await startTestHub();
  // The candidate: the bundled model's weights under another version (so another file and hash).
  const model = await readModel(BUNDLED_MODEL_PATH);
  writeMetadata(model, { ...readMetadata(model), version: '9.9.9-shadow' });
  const candidate = encodeModel(model);
  const release = await hub.releases.create({ bytes: candidate, name: 'nanodet', version: '9.9.9-shadow' });
  const servingSha = createHash('sha256').update(readFileSync(BUNDLED_MODEL_PATH)).digest('hex');

  const prefix = uniquePrefix('shadow');
  const deviceId = 'shadow-1';
  const stateDir = join(dir, 'state');
  agent = new Agent(
    config([
      `device: { id: ${deviceId} }`,
      `mqtt: { url: "${broker.url}", prefix: ${prefix} }`,
      `stateDir: "${stateDir}"`,
      'http: { enabled: false }',
      'model: { threads: 1 }',
      'update:',
      '  enabled: true',
      `  trustedKeys: [{ publicKey: ${JSON.stringify(hub.keys.publicKeyPem)} }]`,
      '  shadow: { reportIntervalS: 1 }',
      'cameras:',
      '  - name: demo',
      '    source: { type: demo }',
      '    fps: 4',
      '    motion: { enabled: false }',
      '    filters: { minScore: 0.2 }',
    ]),
    { logger: createLogger('shadow', { level: 'error' }), brokerConfigured: true, env: {} },
  );

  client = await mqtt.connectAsync(broker.url, { clientId: `shadow-test-${process.pid}`, reconnectPeriod: 0 });
  const reports: ShadowReport[] = [];
  client.on('message', (topic, payload) => {
    if (topic === `${prefix}/${deviceId}/shadow` && payload.length > 0) reports.push(parsePayload('shadowReport', payload));
  });
  await client.subscribeAsync(`${prefix}/${deviceId}/shadow`, { qos: 1 });
  retained.push(`${prefix}/${deviceId}/shadow`, `${prefix}/${deviceId}/model/shadow`);
  await agent.start();

  const manifest = await hub.releases.issueManifest(release);
  const order = (o: object) => client!.publishAsync(`${prefix}/${deviceId}/model/shadow`, JSON.stringify(o), { qos: 1, retain: true });
  await order({ schema: 1, action: 'run', id: 'sh-same', manifest, share: 0.5, until: Date.now() + 3_600_000 });

  const report = await waitFor('a shadow report with compared detections', 60_000, () =>
    reports.find((r) => r.id === 'sh-same' && r.status === 'running' && (r.cameras.demo?.frames ?? 0) >= 6 && r.cameras.demo.current.detections > 0));
  const cam = report.cameras.demo;
  assert.equal(report.candidate.sha256, release.sha256);
  assert.equal(report.current?.sha256, servingSha, 'the serving model is still the bundled one');
  assert.equal(report.share, 0.5);
  // Same weights, same frames: the same boxes.
  assert.equal(cam.matched, cam.current.detections);
  assert.equal(cam.candidate.detections, cam.current.detections);
  assert.equal(cam.agreement, 1);
  assert.ok(Math.abs(cam.candidate.scoreSum - cam.current.scoreSum) < 0.01 * cam.current.detections, `score sums ${cam.current.scoreSum} vs ${cam.candidate.scoreSum}`);
  assert.ok(cam.current.latencyMs && cam.candidate.latencyMs && cam.candidate.latencyMs.p50 > 0, 'latency of each side');
  assert.equal(agent.modelInfo?.sha256, servingSha, 'never swapped in');
  const metrics = await agent.metrics.render();
  const counted = Number(/^kestrel_shadow_frames_total\{camera="demo"\} (\d+)$/m.exec(metrics)?.[1]);
  assert.ok(counted >= cam.frames, `the frames counter (${counted}) keeps up with the report (${cam.frames})`);
  assert.ok(existsSync(join(stateDir, 'shadow', `${release.sha256}.onnx`)), 'the verified candidate is kept while it runs');

  await order({ schema: 1, action: 'stop', id: 'sh-same' });
  const stopped = await waitFor('the stopped report', 20_000, () => reports.find((r) => r.id === 'sh-same' && r.status === 'stopped'));
  assert.match(stopped.reason ?? '', /hub stopped/);
  assert.ok(stopped.cameras.demo.frames >= cam.frames, 'the final report keeps the totals');
  await waitFor('the candidate file removed', 10_000, () => (existsSync(join(stateDir, 'shadow', `${release.sha256}.onnx`)) ? undefined : true));

  // Signed by a key the device does not trust: refused, the reason names the key.
  const stranger = generateReleaseKeyPair();
  const { signature: _s, keyId: _k, ...unsigned } = manifest;
  const forged = signManifest(unsigned, createPrivateKey(stranger.privateKeyPem));
  await order({ schema: 1, action: 'run', id: 'sh-forged', manifest: forged, share: 1, until: Date.now() + 3_600_000 });
  const refused = await waitFor('the refusal', 20_000, () => reports.find((r) => r.id === 'sh-forged'));
  assert.equal(refused.status, 'failed');
  assert.match(refused.reason ?? '', /does not trust/);

  // A candidate of another input size cannot see the cameras' frames (they are scaled for the serving model).
  const small = await hub.releases.create({ bytes: fixedDetector(32, 0.8, '1.0.0'), name: 'small', version: '1.0.0' });
  await order({ schema: 1, action: 'run', id: 'sh-small', manifest: await hub.releases.issueManifest(small), share: 1, until: Date.now() + 3_600_000 });
  const wrongSize = await waitFor('the size refusal', 30_000, () => reports.find((r) => r.id === 'sh-small' && r.status !== 'running'));
  assert.equal(wrongSize.status, 'failed');
  assert.match(wrongSize.reason ?? '', /the candidate's input is 32x32, the serving model's 416x416/);

  // An order whose end has passed (the retained order of a finished run, after a restart) is not run.
  await order({ schema: 1, action: 'run', id: 'sh-over', manifest, share: 1, until: Date.now() - 1000 });
  const over = await waitFor('the ended run', 20_000, () => reports.find((r) => r.id === 'sh-over'));
  assert.equal(over.status, 'stopped');
  assert.match(over.reason ?? '', /the shadow ended at/);
});

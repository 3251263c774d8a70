// Shadow comparisons through a real hub process, a real broker and the `kestrel deploy shadow` CLI:
// `start` signs the candidate's manifest on the operator's side and the hub puts the order on each
// target's retained model/shadow; two simulated devices report, and the hub's per-release report
// sums them up (agreement, detection-rate and latency ratios); reports from a device without a
// token or that is not a target are ignored; bad requests get clear 4xx; `stop` replaces the order.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt, { type MqttClient } from 'mqtt';
import { outgoing, parsePayload, topics, type ShadowReport, type ShadowSet } from '@kestrel/core';
import { startBroker, type BrokerHandle } from '../support/broker.js';
import { uniquePrefix } from '../support/ports.js';
import { getJson, startHub, type HubProcess } from './support/hub-process.js';
import { runKestrel } from '../support/cli.js';
import { fixedDetector } from '../agent/support/update-kit.js';

let broker: BrokerHandle;
let hub: HubProcess;
let client: MqttClient;
const prefix = uniquePrefix('hubshadow');
const dir = mkdtempSync(join(tmpdir(), 'kestrel-hub-shadow-'));
const retainedTopics = new Set<string>();

before(async () => {
  broker = await startBroker();
  hub = await startHub({ mqtt: { url: broker.url, prefix } });
  client = await mqtt.connectAsync(broker.url, { clientId: `test-${prefix}` });
});
after(async () => {
  // The shared broker keeps nothing of this test.
  for (const topic of retainedTopics) await client?.publishAsync(topic, '', { retain: true, qos: 1 });
  await client?.endAsync();
  await hub?.stop();
  await broker?.stop();
  rmSync(dir, { recursive: true, force: true });
});

async function waitFor<T>(what: string, timeoutMs: number, poll: () => Promise<T | undefined> | T | undefined): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await poll();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 150));
  }
}

/** A device's report with one camera: `frames` compared, the candidate finding `ratio` of what the current model finds. */
function report(deviceId: string, id: string, at: number, c: { frames: number; current: number; candidate: number; matched: number; currentMs: number; candidateMs: number }): ShadowReport {
  const side = (detections: number, ms: number) => ({ detections, scoreSum: detections * 0.6, latencyMs: { p50: ms, p99: ms * 2 }, latencyMeanMs: ms });
  return {
    schema: 1, deviceId, id, status: 'running', candidate: { name: 'fixed', version: '2.0.0', sha256: 'a'.repeat(64) }, current: { name: 'fixed', version: '1.0.0', sha256: 'b'.repeat(64) },
    share: 0.5, since: at - 60_000, at, dropped: 1,
    cameras: { door: { frames: c.frames, matched: c.matched, agreement: c.matched / (c.current + c.candidate - c.matched), current: side(c.current, c.currentMs), candidate: side(c.candidate, c.candidateMs) } },
  };
}

async function publish(r: ShadowReport): Promise<void> {
  const message = outgoing(topics(prefix, r.deviceId), 'shadowReport', r);
  retainedTopics.add(message.topic);
  await client.publishAsync(message.topic, message.payload, { qos: message.qos, retain: message.retain });
}

async function post(path: string, token: string, body?: unknown): Promise<{ status: number; body: any }> {
  const res = await fetch(`${hub.url}${path}`, { method: 'POST', headers: { authorization: `Bearer ${token}`, ...(body !== undefined && { 'content-type': 'application/json' }) }, body: body === undefined ? undefined : JSON.stringify(body) });
  return { status: res.status, body: await res.json() };
}

test('deploy shadow start sends a signed order; the hub sums two devices\' reports; bad input is refused; stop replaces the order', { timeout: 90_000 }, async () => {
  for (const d of ['dev-a', 'dev-b', 'dev-c']) await hub.token(d);
  const operator = await hub.token('ops', 'operator');
  const env = { KESTREL_HUB_TOKEN: operator };
  const deploy = (args: string[]) => runKestrel(['deploy', ...args, '--hub-config', hub.configPath], { env, timeoutMs: 60_000 });
  const model = join(dir, 'v2.onnx');
  writeFileSync(model, fixedDetector(32, 0.8, '2.0.0'));
  assert.equal((await deploy(['keygen'])).code, 0);
  const released = await deploy(['release', model, '--name', 'fixed', '--version', '2.0.0', '--json']);
  assert.equal(released.code, 0, released.stderr);
  const release = JSON.parse(released.stdout) as { sha256: string };

  const orders = new Map<string, ShadowSet>();
  client.on('message', (topic, payload) => {
    if (topic.endsWith('/model/shadow') && payload.length > 0) orders.set(topic.split('/').at(-3)!, parsePayload('shadowSet', payload));
  });
  await client.subscribeAsync(`${prefix}/+/model/shadow`, { qos: 1 });

  const started = await deploy(['shadow', 'start', 'fixed@2.0.0', '--to', 'dev-a,dev-b', '--share', '0.5', '--hours', '2', '--json']);
  assert.equal(started.code, 0, started.stderr);
  const { id, status, targets, until } = JSON.parse(started.stdout) as { id: string; status: string; targets: string[]; until: number };
  assert.equal(status, 'running');
  assert.deepEqual(targets, ['dev-a', 'dev-b']);
  for (const d of targets) retainedTopics.add(topics(prefix, d).shadowSet);
  const order = await waitFor('the retained order for dev-b', 10_000, () => orders.get('dev-b'));
  assert.equal(order.action, 'run');
  assert.equal(order.id, id);
  assert.ok(order.action === 'run' && order.share === 0.5 && order.until === until && order.manifest.sha256 === release.sha256 && order.manifest.signature !== undefined, 'a signed manifest of the release');
  assert.ok(order.action === 'run' && order.manifest.expires > until, 'the manifest outlives the shadow');
  assert.equal(orders.has('dev-c'), false, 'not a target');

  // Two devices report; a stranger without a token and a device that is no target are ignored.
  const t0 = Date.now();
  await publish(report('dev-a', id, t0, { frames: 100, current: 200, candidate: 180, matched: 170, currentMs: 20, candidateMs: 10 }));
  await publish(report('dev-b', id, t0, { frames: 300, current: 300, candidate: 320, matched: 290, currentMs: 30, candidateMs: 18 }));
  await publish(report('ghost', id, t0, { frames: 999, current: 1, candidate: 1, matched: 1, currentMs: 1, candidateMs: 1 }));
  await publish(report('dev-c', id, t0, { frames: 999, current: 1, candidate: 1, matched: 1, currentMs: 1, candidateMs: 1 }));
  const summary = await waitFor('two devices in the report', 20_000, async () => {
    const r = await getJson(`${hub.url}/api/v1/shadows/${id}`, operator);
    return r.body.devicesReporting === 2 ? r.body : undefined;
  });
  assert.equal(summary.frames, 400);
  assert.equal(summary.matched, 460);
  // 460 matched of 500 + 500 − 460 = 540.
  assert.equal(summary.agreement, Number((460 / 540).toFixed(4)));
  assert.equal(summary.detectionRateRatio, 1);
  // Frame-weighted: current (100·20 + 300·30)/400 = 27.5 ms, candidate (100·10 + 300·18)/400 = 16 ms.
  assert.equal(summary.current.latencyMeanMs, 27.5);
  assert.equal(summary.candidate.latencyMeanMs, 16);
  assert.equal(summary.latencyRatio, Number((16 / 27.5).toFixed(3)));
  assert.equal(summary.current.perFrame, 1.25);
  assert.equal(summary.current.meanScore, 0.6);
  assert.equal(summary.dropped, 2);
  assert.deepEqual(summary.devices.map((d: { deviceId: string }) => d.deviceId), ['dev-a', 'dev-b']);

  // A newer report replaces a device's older one.
  await publish(report('dev-a', id, t0 + 60_000, { frames: 200, current: 400, candidate: 360, matched: 340, currentMs: 20, candidateMs: 10 }));
  await waitFor('dev-a\'s newer report', 20_000, async () => ((await getJson(`${hub.url}/api/v1/shadows/${id}`, operator)).body.frames === 500 ? true : undefined));

  // The CLI shows it.
  const text = await deploy(['shadow', 'status', id]);
  assert.equal(text.code, 0, text.stderr);
  assert.match(text.stdout, new RegExp(`^shadow ${id} {2}fixed@2\\.0\\.0 {2}running {2}share 0\\.5`, 'm'));
  assert.match(text.stdout, /^ {2}2\/2 devices reporting, 500 frames compared, 2 dropped/m);
  // Now 630 matched of 700 + 680 − 630 = 750; 680 / 700 detections; (200·10 + 300·18) / (200·20 + 300·30) ms.
  assert.match(text.stdout, /^ {2}agreement 0\.840 {2}detection-rate ratio 0\.971 {2}latency ratio 0\.569$/m);
  assert.match(text.stdout, /^ {2}current {4}1\.40 det\/frame {2}mean score 0\.600 {2}latency 26\.0 ms mean/m);
  assert.match(text.stdout, /^ {2}dev-b +running +300 frames {2}agreement 0\.879/m);
  const overview = await deploy(['status']);
  assert.equal(overview.code, 0, overview.stderr);
  assert.match(overview.stdout, new RegExp(`^shadow ${id} fixed@2\\.0\\.0 running {2}2/2 devices, 500 frames`, 'm'), 'kestrel deploy status lists the running shadow');

  // Bad input: clear 4xx.
  const { manifest } = order as Extract<ShadowSet, { action: 'run' }>;
  const unknownRelease = await post('/api/v1/shadows', operator, { release: 'fixed@9.9.9', to: ['dev-a'], manifest });
  assert.equal(unknownRelease.status, 400);
  assert.match(unknownRelease.body.error.message, /no release fixed@9\.9\.9 on this hub/);
  for (const share of [0, 1.5, -0.1, 'half']) {
    const bad = await post('/api/v1/shadows', operator, { release: 'fixed@2.0.0', to: ['dev-a'], share, manifest });
    assert.equal(bad.status, 400, `share ${share}`);
    assert.match(bad.body.error.message, /share must be/);
  }
  const stranger = await post('/api/v1/shadows', operator, { release: 'fixed@2.0.0', to: ['nobody'], manifest, hours: 1 });
  assert.equal(stranger.status, 400);
  assert.match(stranger.body.error.message, /"nobody": no active device token/);
  const missing = await post('/api/v1/shadows/sh-nope/stop', operator);
  assert.equal(missing.status, 404);
  assert.match(missing.body.error.message, /no shadow sh-nope/);
  assert.equal((await getJson(`${hub.url}/api/v1/shadows/sh-nope`, operator)).status, 404);
  const cliShare = await deploy(['shadow', 'start', 'fixed@2.0.0', '--to', 'dev-a', '--share', '0']);
  assert.equal(cliShare.code, 2);
  assert.match(cliShare.stderr, /--share: must be in \(0, 1\]/);

  // Stop: the order on each target becomes a stop, the report stays.
  const stopped = await deploy(['shadow', 'stop', id, '--json']);
  assert.equal(stopped.code, 0, stopped.stderr);
  const after = JSON.parse(stopped.stdout) as { status: string; stopped: { by: string }; frames: number };
  assert.equal(after.status, 'stopped');
  assert.equal(after.stopped.by, 'ops');
  assert.equal(after.frames, 500);
  await waitFor('the stop order on dev-a', 10_000, () => (orders.get('dev-a')?.action === 'stop' ? true : undefined));
});

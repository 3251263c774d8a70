// Two real hub processes on one PostgreSQL schema and one blob folder, on the real broker, with
// simulated devices (real ONNX Runtime, real updater): fleet messages are handled once across the
// replicas (shared subscription), and a rollout started through the API survives kill -9 of the
// replica driving it: the other takes the lease over once it expired and finishes the waves.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import mqtt from 'mqtt';
import { signRolloutRequest } from '@kestrel/deploy/rollout/index';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startBroker, type BrokerHandle } from '../support/broker.js';
import { runKestrel } from '../support/cli.js';
import { uniquePrefix } from '../support/ports.js';
import { fixedDetector, SimDevice } from '../agent/support/update-kit.js';
import { startTestHub, type TestHub } from '../agent/support/update-hub.js';
import { getJson, startHub, type HubProcess } from './support/hub-process.js';
import { testSchema, type TestSchema } from './support/postgres.js';
import { waitFor } from '../support/wait.js';

const SIZE = 32;
const LEASE_SECONDS = 3;
const prefix = uniquePrefix('replicas');
const v1 = fixedDetector(SIZE, 0.9, '1.0.0');
const v2 = fixedDetector(SIZE, 0.8, '2.0.0');
const blind = fixedDetector(SIZE, 0, '3.0.0');
const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
const DEVICES = ['dev1', 'dev2', 'dev3', 'dev4'];

let broker: BrokerHandle;
let schema: TestSchema;
// Artifacts and signing, as the operator's side: its blob folder is the one the hubs serve.
let releaseSide: TestHub;
const hubs: HubProcess[] = [];
const devices = new Map<string, SimDevice>();
let operator: string;
let client: mqtt.MqttClient;

async function post(url: string, body: unknown): Promise<{ status: number; body: any }> {
  const res = await fetch(url, { method: 'POST', headers: { authorization: `Bearer ${operator}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return { status: res.status, body: await res.json() };
}


before(async () => {
  broker = await startBroker();
  schema = await testSchema();
  releaseSide = await startTestHub();
  await releaseSide.releases.create({ bytes: v1, name: 'fixed', version: '1.0.0' });
  await releaseSide.releases.create({ bytes: v2, name: 'fixed', version: '2.0.0' });
  await releaseSide.releases.create({ bytes: blind, name: 'fixed', version: '3.0.0' });
  const stores = { hub: { records: schema.config(), blobs: { type: 'filesystem' as const, path: releaseSide.blobs.root } } };
  for (const replica of ['hub-a', 'hub-b']) {
    hubs.push(await startHub({ mqtt: { url: broker.url, prefix }, stores, extraConfig: [`replica: ${replica}`, `rollouts: { leaseSeconds: ${LEASE_SECONDS}, tickMs: 250 }`] }));
  }
  operator = await hubs[0].token('ops', 'operator');
  for (const id of DEVICES) {
    await hubs[0].token(id);
    const d = new SimDevice({ deviceId: id, prefix, brokerUrl: broker.url, trustedKeys: [{ publicKey: releaseSide.keys.publicKeyPem }], initialModel: v1, size: SIZE });
    devices.set(id, d);
    await d.start();
  }
  client = await mqtt.connectAsync(broker.url, { clientId: `${prefix}-test` });
});

after(async () => {
  for (const d of devices.values()) await d.stop().catch(() => undefined);
  for (const id of DEVICES) for (const level of ['model/set', 'model/state', 'status', 'state']) await client?.publishAsync(`${prefix}/${id}/${level}`, '', { qos: 1, retain: true });
  await client?.endAsync();
  for (const h of hubs) await h.stop();
  await releaseSide?.close();
  await schema?.drop();
  await broker?.stop();
});

test('a fleet message is handled by one replica of the shared subscription group, not by each', async () => {
  const stats = async () => Promise.all(hubs.map(async (h) => (await getJson(`${h.url}/api/v1/replica`, operator)).body.fleet.messages as number));
  const before = await stats();
  const now = Date.now();
  const N = 20;
  for (let i = 0; i < N; i++) {
    const state = { agentVersion: '0.1.0', model: null, cameras: {}, degraded: [], updatedAt: now + i };
    await client.publishAsync(`${prefix}/dev1/state`, JSON.stringify(state), { qos: 1 });
  }
  const handled = await waitFor('the state messages handled', 10_000, async () => {
    const counts = (await stats()).map((c, i) => c - before[i]);
    return counts[0] + counts[1] >= N ? counts : undefined;
  });
  await sleep(500); // a second delivery would arrive about now
  const final = (await stats()).map((c, i) => c - before[i]);
  assert.equal(final[0] + final[1], N, `each message handled once across the replicas (a: ${final[0]}, b: ${final[1]})`);
  assert.ok(handled[0] > 0 && handled[1] > 0, `both replicas took a share (a: ${handled[0]}, b: ${handled[1]})`);
  const rows = await schema.sql<{ device_id: string; last_seen: string }>('SELECT device_id, last_seen FROM fleet_devices WHERE device_id = $1', ['dev1']);
  assert.equal(rows.length, 1);
});

test('a rollout started through the API survives kill -9 of the replica driving it: the other takes over and finishes the waves', { timeout: 180_000 }, async () => {
  const request = await signRolloutRequest(releaseSide.releases, { release: 'fixed@2.0.0', to: DEVICES, canary: 1, waveSize: 1, waveTimeoutMs: 60_000, currentModels: [sha(v1)] });
  assert.ok(request.rollbacks?.[sha(v1)], 'a signed rollback to the release the fleet runs came with it');
  const created = await post(`${hubs[0].url}/api/v1/rollouts`, request);
  assert.equal(created.status, 202, JSON.stringify(created.body));
  const id = created.body.id as string;
  assert.deepEqual(created.body.waves.map((w: { devices: string[] }) => w.devices), [['dev1'], ['dev2'], ['dev3'], ['dev4']]);

  // Mid-way: the canary passed and the next wave is under way.
  const get = async (h: HubProcess) => (await getJson(`${h.url}/api/v1/rollouts/${id}`, operator)).body;
  const midway = await waitFor('the canary wave passed', 60_000, async () => {
    const r = await get(hubs[0]);
    return r.waves[0].results.dev1?.outcome === 'passed' && r.driver ? r : undefined;
  });
  const victim = hubs.find((h) => midway.driver.startsWith(h === hubs[0] ? 'hub-a/' : 'hub-b/'))!;
  const survivor = hubs.find((h) => h !== victim)!;
  const survivorName = survivor === hubs[0] ? 'hub-a/' : 'hub-b/';
  await victim.kill();
  const killedAt = Date.now();

  const takenOver = await waitFor('the other replica driving the rollout', (LEASE_SECONDS + 10) * 1000, async () => {
    const r = await get(survivor);
    return r.status !== 'running' || r.driver?.startsWith(survivorName) ? Date.now() : undefined;
  });
  assert.ok(takenOver - killedAt <= (LEASE_SECONDS + 10) * 1000, `taken over ${takenOver - killedAt} ms after the kill (lease ${LEASE_SECONDS} s)`);

  const done = await waitFor('the rollout finished', 120_000, async () => {
    const r = await get(survivor);
    return r.status !== 'running' ? r : undefined;
  });
  assert.equal(done.status, 'completed', done.reason);
  for (const [i, d] of DEVICES.entries()) assert.equal(done.waves[i].results[d].outcome, 'passed', d);
  for (const d of DEVICES) assert.equal(devices.get(d)!.engine.info?.sha256, sha(v2), `${d} runs the release`);
  const listed = (await getJson(`${survivor.url}/api/v1/rollouts`, operator)).body.rollouts;
  assert.equal(listed[0].id, id);
  await victim.start(); // back for the next test
});

test('kestrel deploy abort stops a running rollout at the next step: no further waves, and the devices sent the release get the signed rollback', { timeout: 120_000 }, async () => {
  // Every device off: the canary wave waits for its (offline) canary, so the abort is what ends it.
  for (const d of devices.values()) await d.stop();
  const request = await signRolloutRequest(releaseSide.releases, { release: 'fixed@3.0.0', to: DEVICES, canary: 1, waveSize: 1, waveTimeoutMs: 60_000, currentModels: [sha(v2)] });
  const created = await post(`${hubs[1].url}/api/v1/rollouts`, request);
  assert.equal(created.status, 202, JSON.stringify(created.body));
  const id = created.body.id as string;
  await waitFor('the canary wave sent', 10_000, async () => ((await getJson(`${hubs[1].url}/api/v1/rollouts/${id}`, operator)).body.waves[0].sentAt ? true : undefined));
  // Through the other replica: any replica takes the request, the one driving it acts on it.
  const tokenFile = join(hubs[0].dir, 'operator.token');
  writeFileSync(tokenFile, operator);
  const cli = await runKestrel(['deploy', 'abort', id, '--hub-config', hubs[0].configPath, '--token-file', tokenFile, '--wait', '--json'], { timeoutMs: 60_000 });
  assert.equal(cli.code, 0, cli.stderr);
  const done = JSON.parse(cli.stdout);
  assert.equal(done.status, 'aborted');
  assert.match(done.reason, /aborted by ops/);
  assert.deepEqual(done.notStarted, ['dev2', 'dev3', 'dev4']);
  assert.deepEqual(done.rolledBack, { dev1: 'fixed@2.0.0' }, 'the canary, sent the release, is sent back to what it ran (retained: it gets it when it is back)');
  const again = await post(`${hubs[0].url}/api/v1/rollouts/${id}/abort`, {});
  assert.equal(again.status, 409);
  assert.match(again.body.error.message, /has finished already/);
  assert.equal((await post(`${hubs[0].url}/api/v1/rollouts/nope/abort`, {})).status, 404);
});

test('a rollout request is checked before anything is stored: a manifest of another release, an unknown device', async () => {
  const request = await signRolloutRequest(releaseSide.releases, { release: 'fixed@2.0.0', to: ['dev1'], waveTimeoutMs: 5000, currentModels: [] });
  const wrong = await post(`${hubs[0].url}/api/v1/rollouts`, { ...request, release: 'fixed@3.0.0' });
  assert.equal(wrong.status, 400);
  assert.match(wrong.body.error.message, /manifest: it is for fixed@2\.0\.0 .* not release fixed@3\.0\.0/);
  const ghost = await post(`${hubs[0].url}/api/v1/rollouts`, { ...request, to: ['dev1', 'ghost'] });
  assert.equal(ghost.status, 400);
  assert.match(ghost.body.error.message, /"ghost": no active device token on this hub/);
  const device = await fetch(`${hubs[0].url}/api/v1/rollouts`, { method: 'POST', headers: { authorization: `Bearer ${await hubs[0].token('dev9')}`, 'content-type': 'application/json' }, body: JSON.stringify(request) });
  assert.equal(device.status, 403, 'starting a rollout is for operator tokens');
});

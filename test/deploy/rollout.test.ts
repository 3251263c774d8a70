// Staged rollouts over three in-process device updaters (each a real ONNX Runtime worker, a real
// MQTT connection and the real updater) on one broker, from a real hub (release routes over HTTP),
// driven by the hub's rollout driver on a SQLite records store, as one hub replica runs it.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { silentLogger } from '@kestrel/core';
import { SqliteRecordStore } from '@kestrel/deploy';
import { RolloutController, RolloutDriver, parseAbortRule, planWaves, publicRollout, shouldAbort, signRolloutRequest, type RolloutRequest } from '@kestrel/deploy/rollout/index';
import { startBroker, type BrokerHandle } from '../support/broker.js';
import { uniquePrefix } from '../support/ports.js';
import { fixedDetector, SimDevice } from '../agent/support/update-kit.js';
import { startTestHub, type TestHub } from '../agent/support/update-hub.js';

const SIZE = 32;
const prefix = uniquePrefix('rollout');
const v1 = fixedDetector(SIZE, 0.9, '1.0.0');
const v2 = fixedDetector(SIZE, 0.8, '2.0.0');
const blind = fixedDetector(SIZE, 0, '3.0.0');
const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
let broker: BrokerHandle;
let hub: TestHub;
let client: mqtt.MqttClient;
// The driver's own connection, as in the hub: a FleetView that stops unsubscribes its filters,
// which on a shared client would silence the driver's view too.
let driverClient: mqtt.MqttClient;
let controller: RolloutController;
let records: SqliteRecordStore;
let driver: RolloutDriver;
const devices = new Map<string, SimDevice>();
const registered = new Set(['dev1', 'dev2', 'dev3']);

/** What `kestrel deploy push --wait` does: sign, hand the rollout to the hub, follow it to the end. */
async function push(release: string, options: Omit<RolloutRequest, 'release' | 'manifest' | 'rollbacks'>) {
  const request = await signRolloutRequest(hub.releases, { release, ...options, currentModels: [...devices.values()].map((d) => d.engine.info?.sha256) });
  const { id } = await driver.create(request, 'test', registered);
  for (;;) {
    const stored = (await records.getRollout(id))!;
    if (stored.status !== 'running') return publicRollout(stored);
    await new Promise((r) => setTimeout(r, 100));
  }
}

function device(id: string, stateDir?: string): SimDevice {
  const d = new SimDevice({ deviceId: id, prefix, brokerUrl: broker.url, trustedKeys: [{ publicKey: hub.keys.publicKeyPem }], initialModel: v1, size: SIZE, stateDir });
  devices.set(id, d);
  return d;
}

before(async () => {
  broker = await startBroker();
  hub = await startTestHub();
  await hub.releases.create({ bytes: v1, name: 'fixed', version: '1.0.0' });
  await hub.releases.create({ bytes: v2, name: 'fixed', version: '2.0.0' });
  await hub.releases.create({ bytes: blind, name: 'fixed', version: '3.0.0' });
  for (const id of ['dev1', 'dev2', 'dev3']) await device(id).start();
  client = mqtt.connect(broker.url, { clientId: `${prefix}-hub` });
  await new Promise<void>((resolve) => client.once('connect', () => resolve()));
  controller = new RolloutController({ mqtt: client, prefix, releases: hub.releases, blobs: hub.blobs, logger: silentLogger, registeredDevices: async () => registered });
  records = new SqliteRecordStore(join(mkdtempSync(join(tmpdir(), 'kestrel-rollout-')), 'hub.sqlite'));
  driverClient = await mqtt.connectAsync(broker.url, { clientId: `${prefix}-driver` });
  driver = new RolloutDriver({ records, mqtt: driverClient, prefix, logger: silentLogger, holder: 'test-replica', leaseMs: 5000, tickMs: 100, releaseIdOf: async (s) => (await hub.releases.findBySha(s))?.id });
  await driver.start();
  // Anyone who can publish can make a device appear on the broker: it must not become a target.
  await client.publishAsync(`${prefix}/ghost/status`, 'online', { qos: 1, retain: true });
});

after(async () => {
  for (const d of devices.values()) await d.stop().catch(() => undefined);
  // Retained manifests and states of this prefix are left on the shared broker; clear them.
  for (const id of ['dev1', 'dev2', 'dev3', 'ghost']) {
    for (const level of ['model/set', 'model/state', 'status']) await client.publishAsync(`${prefix}/${id}/${level}`, '', { qos: 1, retain: true });
  }
  await driver?.stop();
  await records?.close();
  await driverClient?.endAsync();
  await client?.endAsync();
  await hub?.close();
  await broker?.stop();
});

test('waves: canaries first, then waves of --wave-size; offline devices are not canaries', () => {
  assert.deepEqual(planWaves(['d', 'a', 'c', 'b', 'e'], { canary: 2, waveSize: 2 }), [['a', 'b'], ['c', 'd'], ['e']]);
  assert.deepEqual(planWaves(['a', 'b', 'c', 'd'], { canary: '50%' }, (d) => d !== 'a'), [['b', 'c'], ['a', 'd']]);
  assert.throws(() => planWaves(['a'], { canary: 'x' }), /--canary must be a count \(2\) or a percentage \(10%\)/);
  assert.deepEqual(parseAbortRule('failures>2'), { maxFailures: 2 });
  assert.throws(() => parseAbortRule('errors>2'), /--abort-if must be failures>N or failures>P%/);
  // Greengrass-style: the share is judged once enough devices answered.
  const rule = parseAbortRule('failures>10% after 20');
  assert.deepEqual(rule, { maxFailures: Number.POSITIVE_INFINITY, maxFailureRatio: 0.1, minDevices: 20 });
  assert.equal(shouldAbort(rule, 3, 10), false, '30% of 10 answers: too few to judge');
  assert.equal(shouldAbort(rule, 3, 20), true, '15% of 20');
  assert.equal(shouldAbort(rule, 2, 20), false, '10% is not above 10%');
  assert.throws(() => parseAbortRule('failures>2 after 20'), /failures>P% \[after M\]/);
});

test('a release reaches the fleet wave by wave; a device offline during the push gets it when it comes back', async () => {
  // dev3 is off during the push.
  const dev3 = devices.get('dev3')!;
  await dev3.stop();
  const record = await push('fixed@2.0.0', { to: 'all', canary: 1, waveSize: 1, waveTimeoutMs: 30_000 });
  assert.equal(record.status, 'completed', record.reason);
  assert.deepEqual(record.waves.map((w) => w.devices), [['dev1'], ['dev2'], ['dev3']], '"all" is the devices the hub has tokens for, not the ghost on the broker');
  assert.equal(record.waves[0].results.dev1.outcome, 'passed');
  assert.equal(record.waves[1].results.dev2.outcome, 'passed');
  assert.equal(record.waves[2].results.dev3.outcome, 'pending');
  assert.equal(devices.get('dev1')!.engine.info?.sha256, sha(v2));
  assert.equal(devices.get('dev2')!.engine.info?.sha256, sha(v2));

  // dev3 comes back with its state folder: the retained manifest reaches it.
  const back = device('dev3', dev3.stateDir);
  await back.start();
  const deadline = Date.now() + 30_000;
  while (back.updater.modelState?.health !== 'passed' && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  assert.equal(back.engine.info?.sha256, sha(v2));
  assert.equal(back.updater.modelState?.status, 'applied');
  assert.equal((await records.listRollouts())[0]?.id, record.id);
});

test('a named device without a hub token is refused before anything is sent', async () => {
  await assert.rejects(push('fixed@2.0.0', { to: ['dev1', 'ghost'], canary: 1, waveTimeoutMs: 5_000 }), /"ghost": no active device token on this hub/);
  await assert.rejects(controller.rollback(['ghost']), /"ghost": no active device token on this hub/);
});

test('a release that fails its health watch on the canary stops the rollout at the canary wave', async () => {
  // Even with a rule that allows two failures: a failing canary always stops the rollout.
  const record = await push('fixed@3.0.0', { to: ['dev1', 'dev2', 'dev3'], canary: 1, abortIf: 'failures>2', waveTimeoutMs: 30_000 });
  assert.equal(record.status, 'aborted');
  assert.equal(record.waves[0].results.dev1.status, 'rollback');
  assert.equal(record.waves[0].results.dev1.reasonCode, 'quality', 'the canary judged the release worse than the model it replaced');
  assert.match(record.reason!, /wave 1 \(canary\): 1 device\(s\) failed: dev1: rollback \(fixed 3\.0\.0 rolled back to fixed 2\.0\.0: quality: detections per frame fell/);
  assert.deepEqual(record.notStarted, ['dev2', 'dev3']);
  for (const id of ['dev1', 'dev2', 'dev3']) assert.equal(devices.get(id)!.engine.info?.sha256, sha(v2), id);
});

test('kestrel deploy rollback sends a signed rollback to each device\'s previous release', async () => {
  const sent = await controller.rollback(['dev2']);
  assert.deepEqual(sent, { dev2: 'fixed@1.0.0' });
  const dev2 = devices.get('dev2')!;
  const deadline = Date.now() + 30_000;
  while (dev2.engine.info?.sha256 !== sha(v1) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  assert.equal(dev2.engine.info?.sha256, sha(v1));
});

test('a replica that has not heard the fleet refuses to plan a rollout (it would know no device to send back) rather than plan it blind; once its broker is back, it plans', async () => {
  // A private broker, down when the replica starts.
  const late = await startBroker({ private: true });
  await late.kill();
  const lateClient = mqtt.connect(late.url, { clientId: `${prefix}-late`, reconnectPeriod: 100, connectTimeout: 500 });
  lateClient.on('error', () => undefined);
  const lateRecords = new SqliteRecordStore(join(mkdtempSync(join(tmpdir(), 'kestrel-rollout-')), 'hub.sqlite'));
  const lateDriver = new RolloutDriver({ records: lateRecords, mqtt: lateClient, prefix, logger: silentLogger, holder: 'late-replica', leaseMs: 5000, tickMs: 100, viewTimeoutMs: 300 });
  const started = lateDriver.start();
  try {
    const request = await signRolloutRequest(hub.releases, { release: 'fixed@2.0.0', to: ['dev1'], waveTimeoutMs: 5000, currentModels: [sha(v1)] });
    await assert.rejects(lateDriver.create(request, 'test', registered), (err: Error & { code?: string }) => err.code === 'E_ROLLOUT_UNAVAILABLE' && /not heard the fleet/.test(err.message));
    assert.deepEqual(await lateRecords.listRollouts(), [], 'nothing stored');
    // The broker is back, with dev1's retained model state: the view fills, the rollout knows what dev1 ran.
    await late.start();
    const seed = await mqtt.connectAsync(late.url, { clientId: `${prefix}-seed` });
    const state = { schema: 1, current: { name: 'fixed', version: '1.0.0', sha256: sha(v1) }, previous: null, status: 'applied', updatedAt: Date.now() };
    await seed.publishAsync(`${prefix}/dev1/model/state`, JSON.stringify(state), { qos: 1, retain: true });
    await seed.endAsync();
    await started;
    const planned = await lateDriver.create(request, 'test', registered);
    const stored = (await lateRecords.getRollout(planned.id))!;
    assert.deepEqual((stored.state as { before: Record<string, string | null> }).before, { dev1: sha(v1) });
  } finally {
    await lateDriver.stop();
    lateClient.end(true);
    await lateRecords.close();
    await late.stop();
  }
});

// The Mosquitto ACL the project ships (deploy/mosquitto/kestrel.acl), run in a real broker with a
// password file: a device speaks only for itself, the hub reads the fleet and writes manifests,
// anonymous clients are refused. Mosquitto drops a denied publish silently, so every assertion
// is made on what a subscriber really receives.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import mqtt, { type MqttClient } from 'mqtt';
import { freePort } from '../support/ports.js';

const shipped = fileURLToPath(new URL('../../deploy/mosquitto/kestrel.acl', import.meta.url));
const USERS = { 'kestrel-hub': 'hub-secret', homeassistant: 'ha-secret', devA: 'a-secret', devB: 'b-secret' } as const;

async function startSecuredBroker(t: { after(fn: () => void): void }): Promise<number> {
  const dir = mkdtempSync(join(tmpdir(), 'kestrel-acl-'));
  // Mosquitto started as root reads its files as the `mosquitto` user.
  chmodSync(dir, 0o755);
  const passwords = join(dir, 'passwd');
  writeFileSync(passwords, '');
  for (const [user, password] of Object.entries(USERS)) {
    const made = spawnSync('mosquitto_passwd', ['-b', passwords, user, password], { encoding: 'utf8' });
    assert.equal(made.status, 0, made.stderr);
  }
  const acl = join(dir, 'kestrel.acl');
  copyFileSync(shipped, acl);
  chmodSync(passwords, 0o644);
  chmodSync(acl, 0o644);
  const port = await freePort();
  const conf = join(dir, 'mosquitto.conf');
  writeFileSync(conf, [`listener ${port} 127.0.0.1`, 'allow_anonymous false', `password_file ${passwords}`, `acl_file ${acl}`, 'persistence false', 'log_dest stderr', ''].join('\n'));
  const broker = spawn('mosquitto', ['-c', conf], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  broker.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
  t.after(() => {
    broker.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });
  for (let i = 0; i < 100; i++) {
    if (stderr.includes('running') || stderr.includes('Opening ipv4 listen socket')) return port;
    if (broker.exitCode !== null) break;
    await sleep(50);
  }
  throw new Error(`mosquitto did not start: ${stderr}`);
}

async function client(port: number, username?: keyof typeof USERS): Promise<MqttClient> {
  return mqtt.connectAsync(`mqtt://127.0.0.1:${port}`, {
    clientId: `acl-${username ?? 'anon'}-${process.pid}-${Math.random().toString(16).slice(2)}`,
    ...(username ? { username, password: USERS[username] } : {}),
    reconnectPeriod: 0,
    connectTimeout: 5000,
  });
}

function collect(c: MqttClient): string[] {
  const seen: string[] = [];
  c.on('message', (topic, payload) => seen.push(`${topic} ${payload.toString()}`));
  return seen;
}

test('the shipped ACL: a device publishes only its own topics and reads only its own manifest; the hub reads all and writes manifests; anonymous is refused', async (t) => {
  const port = await startSecuredBroker(t);
  const hub = await client(port, 'kestrel-hub');
  const devA = await client(port, 'devA');
  const devB = await client(port, 'devB');
  t.after(() => { for (const c of [hub, devA, devB]) c.end(true); });
  const hubSees = collect(hub);
  const aSees = collect(devA);
  await hub.subscribeAsync('kestrel/#', { qos: 1 });
  await devA.subscribeAsync(['kestrel/devA/model/set', 'kestrel/devA/keys/set', 'kestrel/devA/model/shadow', 'kestrel/devB/model/set', 'kestrel/devB/#'], { qos: 1 });

  // What a device really sends, each on its own subtree.
  for (const topic of ['status', 'state', 'stats', 'model/state', 'samples', 'door/events', 'door/detections', 'door/clip', 'door/drift', 'shadow']) {
    await devA.publishAsync(`kestrel/devA/${topic}`, 'own', { qos: 1 });
  }
  await devA.publishAsync('kestrel/devB/door/events', 'forged', { qos: 1 });
  await devA.publishAsync('kestrel/devB/samples', 'forged', { qos: 1 });
  await devA.publishAsync('kestrel/devB/status', 'forged', { qos: 1 });
  await devA.publishAsync('kestrel/devA/model/set', 'self-made manifest', { qos: 1 });
  await hub.publishAsync('kestrel/devA/model/set', 'manifest for A', { qos: 1 });
  await hub.publishAsync('kestrel/devB/model/set', 'manifest for B', { qos: 1 });
  await devA.publishAsync('kestrel/devA/keys/set', 'self-made key set', { qos: 1 });
  await hub.publishAsync('kestrel/devA/keys/set', 'key set for A', { qos: 1 });
  await devA.publishAsync('kestrel/devA/model/shadow', 'self-made shadow order', { qos: 1 });
  await devA.publishAsync('kestrel/devB/shadow', 'forged', { qos: 1 });
  await hub.publishAsync('kestrel/devA/model/shadow', 'shadow order for A', { qos: 1 });
  await devB.publishAsync('kestrel/devB/door/events', 'B speaks', { qos: 1 });
  await sleep(500);

  for (const topic of ['status', 'state', 'stats', 'model/state', 'samples', 'door/events', 'door/detections', 'door/clip', 'door/drift', 'shadow']) {
    assert.ok(hubSees.includes(`kestrel/devA/${topic} own`), `the hub should receive devA's ${topic}: ${hubSees.join(', ')}`);
  }
  assert.ok(!hubSees.some((m) => m.endsWith('forged')), `devA spoke for devB: ${hubSees.join(', ')}`);
  assert.ok(!hubSees.includes('kestrel/devA/model/set self-made manifest'), 'a device wrote its own manifest topic');
  assert.ok(hubSees.includes('kestrel/devB/door/events B speaks'));
  assert.ok(!hubSees.includes('kestrel/devA/keys/set self-made key set'), 'a device wrote its own key set topic');
  assert.ok(!hubSees.includes('kestrel/devA/model/shadow self-made shadow order'), 'a device wrote its own shadow order topic');
  assert.deepEqual(aSees, ['kestrel/devA/model/set manifest for A', 'kestrel/devA/keys/set key set for A', 'kestrel/devA/model/shadow shadow order for A'], 'devA reads its own manifest, key set and shadow order, and nothing of devB');

  await assert.rejects(client(port), /not authori[sz]ed|Connection refused|Bad username or password/i);
});

test('the shipped ACL and Home Assistant: a device writes its counts, snapshots, switch state and own discovery configs and reads its own detect/set; Home Assistant and the hub may command it; nobody else', async (t) => {
  const port = await startSecuredBroker(t);
  const hub = await client(port, 'kestrel-hub');
  const ha = await client(port, 'homeassistant');
  const devA = await client(port, 'devA');
  const devB = await client(port, 'devB');
  t.after(() => { for (const c of [hub, ha, devA, devB]) c.end(true); });
  const haSees = collect(ha);
  const aSees = collect(devA);
  await ha.subscribeAsync(['kestrel/#', 'homeassistant/#'], { qos: 1 });
  await devA.subscribeAsync(['kestrel/devA/+/detect/set', 'kestrel/devB/+/detect/set', 'homeassistant/status', 'homeassistant/+/kestrel_devA/+/config', 'homeassistant/+/kestrel_devB/+/config'], { qos: 1 });

  // What the agent sends for Home Assistant, and what it must not be able to send.
  await devA.publishAsync('kestrel/devA/door/person/count', '1', { qos: 1 });
  await devA.publishAsync('kestrel/devA/door/person/snapshot', 'jpeg', { qos: 1 });
  await devA.publishAsync('kestrel/devB/door/person/snapshot', 'forged', { qos: 1 });
  await devA.publishAsync('kestrel/devA/door/detect/state', 'ON', { qos: 1 });
  await devA.publishAsync('homeassistant/binary_sensor/kestrel_devA/door_person_detected/config', 'own', { qos: 1 });
  await devA.publishAsync('homeassistant/binary_sensor/kestrel_devB/door_person_detected/config', 'forged', { qos: 1 });
  await devA.publishAsync('homeassistant/status', 'forged', { qos: 1 });
  await devA.publishAsync('kestrel/devB/door/person/count', 'forged', { qos: 1 });
  await devA.publishAsync('kestrel/devA/door/detect/set', 'forged', { qos: 1 });
  await devB.publishAsync('kestrel/devA/door/detect/set', 'forged', { qos: 1 });
  // The count topic's ACL does not open the device's own manifest (it has one level fewer).
  await devA.publishAsync('kestrel/devA/model/set', 'forged', { qos: 1 });
  // Home Assistant and the hub command detection; Home Assistant announces itself.
  await ha.publishAsync('kestrel/devA/door/detect/set', 'OFF', { qos: 1 });
  await hub.publishAsync('kestrel/devA/yard/detect/set', 'ON', { qos: 1 });
  await ha.publishAsync('homeassistant/status', 'online', { qos: 1 });
  await ha.publishAsync('kestrel/devA/model/set', 'forged', { qos: 1 });
  await ha.publishAsync('kestrel/devA/door/person/count', 'forged', { qos: 1 });
  await sleep(500);

  for (const m of ['kestrel/devA/door/person/count 1', 'kestrel/devA/door/person/snapshot jpeg', 'kestrel/devA/door/detect/state ON', 'homeassistant/binary_sensor/kestrel_devA/door_person_detected/config own', 'homeassistant/status online']) {
    assert.ok(haSees.includes(m), `Home Assistant should receive ${m}: ${haSees.join(', ')}`);
  }
  assert.ok(!haSees.some((m) => m.endsWith('forged')), `a forged message got through: ${haSees.join(', ')}`);
  assert.deepEqual(
    aSees.sort(),
    ['homeassistant/binary_sensor/kestrel_devA/door_person_detected/config own', 'homeassistant/status online', 'kestrel/devA/door/detect/set OFF', 'kestrel/devA/yard/detect/set ON'].sort(),
    'devA reads its own commands, its own configs and Home Assistant\'s status, nothing of devB',
  );
});

test('the shipped ACL and shared subscriptions: hub replicas share $share/<group>/kestrel/... (each message to one of them); a device cannot read another\'s topics through $share', async (t) => {
  const port = await startSecuredBroker(t);
  const hubA = await client(port, 'kestrel-hub');
  const hubB = await client(port, 'kestrel-hub');
  const devA = await client(port, 'devA');
  const devB = await client(port, 'devB');
  t.after(() => { for (const c of [hubA, hubB, devA, devB]) c.end(true); });
  const aSees = collect(hubA);
  const bSees = collect(hubB);
  const spySees = collect(devA);
  // As the hub subscribes: the broker strips `$share/<group>/` and checks the ACL on the topic.
  for (const hub of [hubA, hubB]) {
    const granted = await hub.subscribeAsync({ '$share/kestrel-hub/kestrel/+/status': { qos: 1 }, '$share/kestrel-hub/kestrel/+/state': { qos: 1 } });
    assert.deepEqual(granted.map((g) => g.qos), [1, 1], 'the hub user may subscribe to shared fleet filters');
  }
  await devA.subscribeAsync(['$share/spy/kestrel/devB/#', '$share/spy/kestrel/+/state'], { qos: 1 });
  for (let i = 0; i < 10; i++) await devB.publishAsync('kestrel/devB/state', `state ${i}`, { qos: 1 });
  await sleep(500);
  const got = [...aSees, ...bSees].filter((m) => m.startsWith('kestrel/devB/state'));
  assert.equal(got.length, 10, `each message reached one hub replica: a ${aSees.length}, b ${bSees.length}`);
  assert.equal(new Set(got).size, 10, 'none twice');
  assert.ok(aSees.length > 0 && bSees.length > 0, 'both replicas took a share');
  assert.deepEqual(spySees, [], 'devA read nothing of devB through a shared subscription');
});

// mqtt.sessions: a replica opens several fleet sessions, each a member of the shared group, so
// it handles that many messages at once. Each message is still handled once, by one session.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import mqtt, { type MqttClient } from 'mqtt';
import { outgoing, topics, type DeviceState } from '@kestrel/core';
import { startBroker, type BrokerHandle } from '../support/broker.js';
import { uniquePrefix } from '../support/ports.js';
import { getJson, startHub, type HubProcess } from './support/hub-process.js';

let broker: BrokerHandle;
let hub: HubProcess;
let client: MqttClient;
let operator: string;
const prefix = uniquePrefix('sessions');

before(async () => {
  broker = await startBroker();
  hub = await startHub({ mqtt: { url: broker.url, prefix, sessions: 3 } });
  await hub.token('cam1');
  operator = await hub.token('ops', 'operator');
  client = await mqtt.connectAsync(broker.url, { clientId: `test-${prefix}` });
});
after(async () => {
  await client?.publishAsync(`${prefix}/cam1/state`, '', { qos: 1, retain: true });
  await client?.endAsync();
  await hub?.stop();
  await broker?.stop();
});

test('three fleet sessions share the messages: each handled once, by one of them, and the row shows the newest state', { timeout: 30_000 }, async () => {
  const fleet = async () => (await getJson(`${hub.url}/api/v1/replica`, operator)).body.fleet as { connected: boolean; messages: number; perSession: number[] };
  const deadline = Date.now() + 10_000;
  while (!(await fleet()).connected && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  const before = await fleet();
  assert.equal(before.perSession.length, 3);
  const N = 30;
  const t = topics(prefix, 'cam1');
  const now = Date.now();
  for (let i = 0; i < N; i++) {
    const state: DeviceState = { schema: 1, agentVersion: `0.1.${i}`, deviceId: 'cam1', startedAt: now, updatedAt: now + i, model: null, cameras: {}, degraded: [] };
    const m = outgoing(t, 'state', state);
    // Not retained: a retained message would also go to each session that subscribes later.
    await client.publishAsync(m.topic, m.payload, { qos: m.qos, retain: false });
  }
  let after = before;
  while (after.messages - before.messages < N && Date.now() < deadline + 10_000) {
    await new Promise((r) => setTimeout(r, 100));
    after = await fleet();
  }
  await new Promise((r) => setTimeout(r, 500)); // a second delivery would arrive about now
  after = await fleet();
  assert.equal(after.messages - before.messages, N, 'each message handled once across the sessions');
  const shares = after.perSession.map((n, i) => n - before.perSession[i]);
  assert.equal(shares.reduce((a, b) => a + b, 0), N);
  assert.ok(shares.every((n) => n > 0), `every session took a share: ${shares.join(', ')}`);
  const rows = await hub.stores().records.listFleetDevices();
  assert.equal(rows.find((r) => r.deviceId === 'cam1')?.agentVersion, `0.1.${N - 1}`, 'the newest state shows, whichever session handled it last');
});

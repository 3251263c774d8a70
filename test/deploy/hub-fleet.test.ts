// The hub follows the fleet over a real MQTT broker: retained status/state make the device table
// (`kestrel hub devices`), and samples published on <prefix>/<device>/samples are ingested.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import mqtt, { type MqttClient } from 'mqtt';
import { encodePayload, topics, type DeviceState, type OutgoingMessage } from '@kestrel/core';
import { MqttTransport, Sampler } from '@kestrel/agent/sampling/index';
import { startBroker, type BrokerHandle } from '../support/broker.js';
import { runKestrel } from '../support/cli.js';
import { uniquePrefix } from '../support/ports.js';
import { getJson, startHub, type HubProcess } from './support/hub-process.js';
import { det, noiseFrame, quietLogger, samplingConfig } from '../agent/sampling/support/frames.js';
import { waitFor } from '../support/wait.js';

let broker: BrokerHandle;
let hub: HubProcess;
let client: MqttClient;
const prefix = uniquePrefix('hub');

before(async () => {
  broker = await startBroker();
  hub = await startHub({ mqtt: { url: broker.url, prefix, samples: true } });
  client = await mqtt.connectAsync(broker.url, { clientId: `test-${prefix}` });
});
after(async () => {
  await client?.endAsync();
  await hub?.stop();
  await broker?.stop();
});


function state(deviceId: string): DeviceState {
  const now = Date.now();
  return {
    schema: 1,
    agentVersion: '0.1.0',
    deviceId,
    startedAt: now - 60_000,
    updatedAt: now,
    model: { name: 'nanodet', version: '1.2.0', sha256: 'a'.repeat(64), decoder: 'nanodet', labelCount: 80, inputSize: [416, 416], provider: 'cpu' },
    cameras: { door: { state: 'streaming', fps: 2 }, yard: { state: 'failed', fps: 0, lastError: 'connection refused' } },
    degraded: ['camera yard failed: connection refused'],
  };
}

async function devicesJson(): Promise<{ devices: { deviceId: string; online: boolean; model: { version: string } | null; cameras: Record<string, { state: string }>; lastSeen: number | null }[] }> {
  const res = await runKestrel(['hub', 'devices', '--json', '--config', hub.configPath]);
  assert.equal(res.code, 0, res.stderr);
  return JSON.parse(res.stdout);
}

test('retained status and state topics fill the device table that `kestrel hub devices` shows', { timeout: 60_000 }, async () => {
  await hub.token('pi-9');
  const t = topics(prefix, 'pi-9');
  await client.publishAsync(t.status, 'online', { qos: 1, retain: true });
  await client.publishAsync(t.state, encodePayload('state', state('pi-9')), { qos: 1, retain: true });
  const seen = await waitFor('pi-9 in the device table', 20_000, async () => {
    const devices = await hub.stores().records.listFleetDevices();
    const d = devices.find((x) => x.deviceId === 'pi-9');
    return d?.model ? d : undefined;
  });
  assert.equal(seen.online, true);
  const listed = (await devicesJson()).devices.find((d) => d.deviceId === 'pi-9');
  assert.ok(listed);
  assert.equal(listed.online, true);
  assert.equal(listed.model?.version, '1.2.0');
  assert.deepEqual(Object.fromEntries(Object.entries(listed.cameras).map(([k, v]) => [k, v.state])), { door: 'streaming', yard: 'failed' });
  assert.ok(listed.lastSeen && Math.abs(listed.lastSeen - Date.now()) < 60_000);
  // The same table over HTTP, for operators only.
  const operator = await hub.token('ops', 'operator');
  const http = await getJson(`${hub.url}/api/v1/devices`, operator);
  assert.equal(http.status, 200);
  assert.equal(http.body.devices.find((d: { deviceId: string }) => d.deviceId === 'pi-9')?.model?.provider, 'cpu');
  const asDevice = await getJson(`${hub.url}/api/v1/devices`, await hub.token('pi-9b'));
  assert.equal(asDevice.status, 403);

  // The agent's last will: offline.
  await client.publishAsync(t.status, 'offline', { qos: 1, retain: true });
  await waitFor('pi-9 offline', 20_000, async () => ((await hub.stores().records.listFleetDevices()).find((x) => x.deviceId === 'pi-9')?.online === false ? true : undefined));
  const text = await runKestrel(['hub', 'devices', '--config', hub.configPath]);
  assert.match(text.stdout, /pi-9\s+offline\s+nanodet 1\.2\.0 \(cpu\)\s+door:streaming yard:failed/);

  // Garbage on a state topic is ignored (logged), and the table keeps the last good state.
  await client.publishAsync(topics(prefix, 'pi-9').state, '{"schema":1,"oops":true}', { qos: 1 });
  await new Promise((r) => setTimeout(r, 500));
  assert.equal((await hub.stores().records.listFleetDevices()).find((x) => x.deviceId === 'pi-9')?.model?.version, '1.2.0');
  assert.match(hub.log(), /ignored a malformed fleet message/);
});

test('samples sent over MQTT by the sampler are stored by the hub; those of devices without a token are not', { timeout: 60_000 }, async () => {
  await hub.token('pi-mqtt');
  const publish = async (message: OutgoingMessage<'samples'>) => {
    await client.publishAsync(message.topic, message.payload, { qos: message.qos, retain: message.retain });
  };
  const send = async (deviceId: string, count: number) => {
    const config = samplingConfig({ quota: {}, dedup: { enabled: false }, strategies: { uncertainty: { quota: {} } }, upload: { transport: 'mqtt', idleSeconds: 0.2 } });
    const sampler = new Sampler({ config, deviceId, mqttPrefix: prefix, logger: quietLogger, transport: new MqttTransport({ prefix, deviceId, publish }) });
    await sampler.start();
    for (let i = 0; i < count; i++) sampler.consider(noiseFrame({ seed: 100 + i }), [det('person', 0.5, [100, 100, 400, 900])], 'v1');
    await sampler.flush();
    await waitFor('the sampler to send everything', 20_000, async () => (sampler.stats().backlog === 0 ? true : undefined));
    await sampler.stop();
  };
  await send('pi-mqtt', 3);
  await send('pi-stranger', 2);
  const stored = await waitFor('3 samples at the hub', 20_000, async () => {
    const n = await hub.stores().records.countSamples({ deviceId: 'pi-mqtt' });
    return n === 3 ? n : undefined;
  });
  assert.equal(stored, 3);
  const page = await hub.stores().records.listSamples({ deviceId: 'pi-mqtt' });
  assert.deepEqual(page.samples[0].detections, [{ label: 'person', score: 0.5, box: [100, 100, 400, 900] }]);
  assert.deepEqual(page.samples[0].imageSize, [416, 416]);
  await new Promise((r) => setTimeout(r, 500));
  assert.equal(await hub.stores().records.countSamples({ deviceId: 'pi-stranger' }), 0);
  assert.match(hub.log(), /sample from a device without an active hub token ignored/);
});

test('retained status topics of devices the hub issued no token to make no rows, however many arrive', { timeout: 60_000 }, async () => {
  await hub.token('pi-known');
  const fakes = Array.from({ length: 500 }, (_, i) => `fake-${i}`);
  try {
    await Promise.all(fakes.map((id) => client.publishAsync(topics(prefix, id).status, 'online', { qos: 1, retain: true })));
    await client.publishAsync(topics(prefix, 'pi-known').status, 'online', { qos: 1, retain: true });
    await client.publishAsync(topics(prefix, 'pi-known').state, encodePayload('state', state('pi-known')), { qos: 1, retain: true });
    // pi-known is sent last and messages are handled in order: once it is in, every fake was seen.
    await waitFor('pi-known in the device table', 20_000, async () => ((await hub.stores().records.listFleetDevices()).find((d) => d.deviceId === 'pi-known')?.model ? true : undefined));
    const ids = (await hub.stores().records.listFleetDevices()).map((d) => d.deviceId);
    assert.deepEqual(ids.filter((id) => id.startsWith('fake-')), []);
    assert.ok(ids.includes('pi-known'));
    const logged = hub.log().match(/fleet message from a device without a hub token ignored/g) ?? [];
    assert.ok(logged.length >= 1 && logged.length <= 2, `one warning a minute, not one per fake: ${logged.length}`);
  } finally {
    // Retained messages outlive the test: clear them on the shared broker.
    await Promise.all([...fakes, 'pi-known'].map((id) => client.publishAsync(topics(prefix, id).status, '', { qos: 1, retain: true })));
    await client.publishAsync(topics(prefix, 'pi-known').state, '', { qos: 1, retain: true });
  }
});

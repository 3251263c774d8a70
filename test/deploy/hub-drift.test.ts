// The hub keeps each camera's latest drift from a real broker: a device's retained
// <prefix>/<device>/<camera>/drift is stored (a later one replaces it, an older one does not),
// served to operators at GET /api/v1/drift (filtered by device and by alert), shown by
// `kestrel deploy status`, and ignored from a device the hub issued no token to.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import mqtt, { type MqttClient } from 'mqtt';
import { outgoing, topics, type DriftAlert } from '@kestrel/core';
import { startBroker, type BrokerHandle } from '../support/broker.js';
import { uniquePrefix } from '../support/ports.js';
import { getJson, startHub, type HubProcess } from './support/hub-process.js';
import { runKestrel } from '../support/cli.js';
import { waitFor } from '../support/wait.js';

let broker: BrokerHandle;
let hub: HubProcess;
let client: MqttClient;
const prefix = uniquePrefix('hubdrift');
const retainedTopics: string[] = [];

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
});


function alert(deviceId: string, camera: string, at: number, drifted: boolean): DriftAlert {
  const worst = { histogram: 'score' as const, label: 'person', psi: drifted ? 0.71 : 0.03, js: drifted ? 0.36 : 0.04, n: 260 };
  return {
    schema: 1, deviceId, camera, modelVersion: '2.0.0', at, since: at, drifted, psi: worst.psi, js: worst.js, threshold: 0.25, worst,
    figures: [worst, { histogram: 'count', psi: 0.02, js: 0.03, n: 300 }], perFrame: 0.7, baselinePerFrame: 1.1, baseline: 'model',
  };
}

async function publish(payload: DriftAlert): Promise<void> {
  const message = outgoing(topics(prefix, payload.deviceId), 'drift', payload);
  retainedTopics.push(message.topic);
  await client.publishAsync(message.topic, message.payload, { qos: message.qos, retain: message.retain });
}

test('drift alerts are stored per camera, served to operators and shown by deploy status', { timeout: 60_000 }, async () => {
  await hub.token('cam-1');
  const operator = await hub.token('ops', 'operator');
  const device = await hub.token('cam-2');
  const t0 = Date.now();
  await publish(alert('cam-1', 'door', t0, true));
  await publish(alert('cam-1', 'yard', t0, false));
  await publish(alert('ghost', 'door', t0, true));

  const stored = await waitFor('two cameras of cam-1', 20_000, async () => {
    const r = await getJson(`${hub.url}/api/v1/drift`, operator);
    return r.body.cameras?.length >= 2 ? r : undefined;
  });
  assert.equal(stored.status, 200);
  assert.deepEqual(stored.body.cameras.map((c: { deviceId: string; camera: string; drifted: boolean }) => [c.deviceId, c.camera, c.drifted]), [['cam-1', 'door', true], ['cam-1', 'yard', false]], 'ghost has no token: ignored');
  const door = stored.body.cameras[0];
  assert.equal(door.psi, 0.71);
  assert.equal(door.modelVersion, '2.0.0');
  assert.equal(door.detail.worst.label, 'person');
  assert.equal(door.detail.threshold, 0.25);
  assert.equal(door.detail.figures.length, 2);

  const alerts = await getJson(`${hub.url}/api/v1/drift?drifted=true`, operator);
  assert.deepEqual(alerts.body.cameras.map((c: { camera: string }) => c.camera), ['door']);
  assert.deepEqual((await getJson(`${hub.url}/api/v1/drift?device=nobody`, operator)).body, { cameras: [] });
  const bad = await getJson(`${hub.url}/api/v1/drift?drifted=maybe`, operator);
  assert.equal(bad.status, 400);
  assert.match(bad.body.error.message, /drifted must be true or false, got "maybe"/);
  assert.equal((await getJson(`${hub.url}/api/v1/drift`, device)).status, 403, 'operators only');

  // `kestrel deploy status`: the alert in its text, every camera in its JSON.
  const text = await runKestrel(['deploy', 'status', '--hub-config', hub.configPath], { env: { KESTREL_HUB_TOKEN: operator } });
  assert.equal(text.code, 0, text.stderr);
  assert.match(text.stdout, /^drift cam-1\/door {2}PSI 0\.71 > 0\.25 \(score of person\), JS 0\.36, model 2\.0\.0, since /m);
  assert.doesNotMatch(text.stdout, /cam-1\/yard/, 'a camera without an alert is not listed');
  const json = JSON.parse((await runKestrel(['deploy', 'status', '--hub-config', hub.configPath, '--json'], { env: { KESTREL_HUB_TOKEN: operator } })).stdout);
  assert.deepEqual(json.drift.map((c: { camera: string }) => c.camera), ['door', 'yard']);

  // The alert clears: a newer comparison replaces it; an older one arriving late does not.
  await publish(alert('cam-1', 'door', t0 + 300_000, false));
  await waitFor('door cleared', 20_000, async () => {
    const r = await getJson(`${hub.url}/api/v1/drift?drifted=true`, operator);
    return r.body.cameras.length === 0 ? true : undefined;
  });
  const late = alert('cam-1', 'yard', t0 - 300_000, true);
  await client.publishAsync(topics(prefix, 'cam-1').drift('yard'), JSON.stringify(late), { qos: 1 });
  await publish(alert('cam-1', 'door', t0 + 600_000, true));
  const final = await waitFor('door drifted again', 20_000, async () => {
    const r = await getJson(`${hub.url}/api/v1/drift?drifted=true`, operator);
    return r.body.cameras.length === 1 ? r : undefined;
  });
  assert.deepEqual(final.body.cameras.map((c: { camera: string }) => c.camera), ['door'], 'the late yard message did not overwrite its newer one');
});

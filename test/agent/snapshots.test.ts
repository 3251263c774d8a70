// Snapshots from a real agent (demo camera through ffmpeg, NanoDet on ONNX Runtime, the real
// broker): the best picture of the demo person arrives retained on <camera>/person/snapshot as a
// JPEG of the picture region at the model's input size, the HTTP route serves it by label and by
// event id (box drawn or not, whole or cropped), the privacy mask's area is black in it, and at
// the person's end the clean picture reaches a real hub process as a sample with reason `snapshot`.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt from 'mqtt';
import sharp from 'sharp';
import { checkConfig, type LoadedConfig } from '@kestrel/config';
import { createLogger, parsePayload, type DetectionEvent } from '@kestrel/core';
import { Agent } from '@kestrel/agent';
import { startBroker, type BrokerHandle } from '../support/broker.js';
import { freePort, uniquePrefix } from '../support/ports.js';
import { startHub, type HubProcess } from '../deploy/support/hub-process.js';
import { metric, waitFor } from './support/agent-process.js';

const dir = mkdtempSync(join(tmpdir(), 'kestrel-snapshots-'));
let broker: BrokerHandle | undefined;
let hub: HubProcess | undefined;
let agent: Agent | undefined;
let client: mqtt.MqttClient | undefined;
after(async () => {
  await agent?.stop();
  await client?.endAsync(true);
  await broker?.stop();
  await hub?.stop();
  rmSync(dir, { recursive: true, force: true });
});

function config(lines: string[]): LoadedConfig {
  const r = checkConfig({ text: lines.join('\n') });
  assert.ok(r.ok, JSON.stringify(r.errors));
  return r.config;
}

async function get(port: number, path: string): Promise<{ status: number; type: string; body: Buffer }> {
  const res = await fetch(`http://127.0.0.1:${port}${path}`);
  return { status: res.status, type: res.headers.get('content-type') ?? '', body: Buffer.from(await res.arrayBuffer()) };
}

/** Largest channel value in rows [y0, y1) of a decoded RGB picture. */
function maxInRows(rgb: Buffer, width: number, y0: number, y1: number): number {
  let max = 0;
  for (let i = y0 * width * 3; i < y1 * width * 3; i++) if (rgb[i]! > max) max = rgb[i]!;
  return max;
}

// The demo is 1280×720 and the model 416×416: the picture region is 416×234 (scale 0.325). The
// person walks at y 250-610; the mask blanks the top 150 source rows (about 49 picture rows).
const MASK_ROWS = 150;
const PICTURE: [number, number] = [416, 234];

test('the demo person\'s best picture: retained on MQTT, served over HTTP, masked, and on the hub after its end', { timeout: 120_000 }, async () => {
  [broker, hub] = await Promise.all([startBroker(), startHub()]);
  const token = await hub.token('snap-1');
  const prefix = uniquePrefix('snap');
  const deviceId = 'snap-1';
  const port = await freePort();
  const stateDir = join(dir, 'state');
  agent = new Agent(
    config([
      `device: { id: ${deviceId} }`,
      `mqtt: { url: "${broker.url}", prefix: ${prefix} }`,
      `stateDir: "${stateDir}"`,
      `http: { enabled: true, bind: "127.0.0.1:${port}" }`,
      'model: { threads: 1 }',
      // Strategies off: the only samples are snapshots.
      'sampling:',
      '  enabled: true',
      '  strategies: { uncertainty: { enabled: false } }',
      `  upload: { transport: http, url: "${hub.url}", token: "${token}", batchSize: 2, backoff: { minMs: 200, maxMs: 2000 } }`,
      'cameras:',
      '  - name: demo',
      '    source: { type: demo }',
      '    fps: 4',
      '    tracker: { minHits: 2, lostSeconds: 1 }',
      `    privacy: { masks: [{ name: top, polygon: [[0, 0], [1280, 0], [1280, ${MASK_ROWS}], [0, ${MASK_ROWS}]] }] }`,
      '    snapshots: { upload: true }',
    ]),
    { logger: createLogger('snapshots', { level: 'error' }), brokerConfigured: true, env: {} },
  );

  client = await mqtt.connectAsync(broker.url, { clientId: `snap-test-${process.pid}`, reconnectPeriod: 0 });
  const snapshots: Buffer[] = [];
  const events: DetectionEvent[] = [];
  const snapshotTopic = `${prefix}/${deviceId}/demo/person/snapshot`;
  client.on('message', (topic, payload) => {
    if (topic === snapshotTopic && payload.length > 0) snapshots.push(parsePayload('snapshot', payload));
    if (topic.endsWith('/events')) events.push(parsePayload('events', payload));
  });
  await client.subscribeAsync([snapshotTopic, `${prefix}/${deviceId}/+/events`], { qos: 1 });
  await agent.start();

  // 1. MQTT: a JPEG of the picture region, at the model's input size.
  const first = await waitFor('a person snapshot on MQTT', 60_000, () => snapshots[0]);
  const meta = await sharp(first).metadata();
  assert.equal(meta.format, 'jpeg');
  assert.deepEqual([meta.width, meta.height], PICTURE);
  // Retained: a subscriber that comes later gets it at once, flagged as retained.
  const late = await mqtt.connectAsync(broker.url, { clientId: `snap-late-${process.pid}`, reconnectPeriod: 0 });
  const retained = new Promise<{ payload: Buffer; retain: boolean }>((resolve) => late.on('message', (_t, payload, packet) => resolve({ payload, retain: packet.retain })));
  await late.subscribeAsync(snapshotTopic, { qos: 0 });
  const kept = await Promise.race([retained, new Promise<undefined>((r) => setTimeout(r, 5000))]);
  await late.endAsync(true);
  assert.ok(kept?.retain, 'the snapshot is retained');
  assert.equal((await sharp(kept.payload).metadata()).format, 'jpeg');

  // 2. HTTP by label: the clean picture (?bbox=0) has the mask's rows black and the rest not.
  const clean = await get(port, '/api/cameras/demo/snapshot/person.jpg?bbox=0');
  assert.equal(clean.status, 200);
  assert.equal(clean.type, 'image/jpeg');
  const { data, info } = await sharp(clean.body).raw().toBuffer({ resolveWithObject: true });
  assert.deepEqual([info.width, info.height], PICTURE);
  const maskRows = Math.floor(MASK_ROWS * 0.325);
  // A few rows short of the mask's edge: JPEG blocks (8 px) smear the edge a little either way.
  assert.ok(maxInRows(data, info.width, 0, maskRows - 8) <= 12, `masked rows are black (max ${maxInRows(data, info.width, 0, maskRows - 8)})`);
  assert.ok(maxInRows(data, info.width, maskRows + 8, info.height) > 64, 'the picture below the mask is not black');

  // With the box drawn (the config's default), the picture differs; cropped, it is the person's part of it.
  const boxed = await get(port, '/api/cameras/demo/snapshot/person.jpg');
  assert.equal(boxed.status, 200);
  assert.notDeepEqual(boxed.body, clean.body);
  const cropped = await get(port, '/api/cameras/demo/snapshot/person.jpg?crop=1');
  const cropMeta = await sharp(cropped.body).metadata();
  assert.equal(cropMeta.format, 'jpeg');
  assert.ok(cropMeta.width! < PICTURE[0] && cropMeta.height! <= PICTURE[1], `crop ${cropMeta.width}x${cropMeta.height}`);

  // By event id, and what is not there.
  const announced = await waitFor('the person\'s new event', 10_000, () => events.find((e) => e.type === 'new' && e.label === 'person'));
  const byId = await get(port, `/api/cameras/demo/snapshot/${announced.trackId}.jpg?bbox=0`);
  assert.equal(byId.status, 200);
  assert.equal((await sharp(byId.body).metadata()).width, PICTURE[0]);
  assert.equal((await get(port, '/api/cameras/demo/snapshot/giraffe.jpg')).status, 404);
  assert.equal((await get(port, '/api/cameras/nosuch/snapshot/person.jpg')).status, 404);
  assert.equal((await get(port, '/api/cameras/demo/snapshot/person.jpg?bbox=maybe')).status, 400);
  assert.equal((await get(port, '/api/cameras/demo/snapshot/%E0%A4%A.jpg')).status, 400);
  const metrics = (await get(port, '/metrics')).body.toString();
  assert.ok((metric(metrics, 'kestrel_snapshots_total', { camera: 'demo', result: 'encoded' }) ?? 0) >= 1, 'encoded snapshots are counted');
  assert.notEqual(metric(metrics, 'kestrel_snapshots_total', { camera: 'demo', result: 'dropped_busy' }), undefined, 'drops have their series');

  // 3. The person leaves (the demo's empty stretch): its end, and its clean picture kept as a sample.
  const ended = await waitFor('the person\'s end', 40_000, () => events.find((e) => e.type === 'end' && e.trackId === announced.trackId));
  assert.equal((await get(port, `/api/cameras/demo/snapshot/${ended.trackId}.jpg`)).status, 200, 'an ended object\'s snapshot stays at the route');
  const stores = hub.stores();
  const sample = await waitFor('the snapshot sample on the hub', 30_000, async () => (await stores.records.listSamples({ strategy: 'snapshot' })).samples[0], 300);
  assert.deepEqual(sample.reasons, ['snapshot']);
  assert.equal(sample.camera, 'demo');
  assert.deepEqual(sample.imageSize, PICTURE);
  assert.deepEqual(sample.frameSize, [1280, 720]);
  assert.ok(sample.detections.some((d) => d.label === 'person'), 'the person is among the pre-labels');
  const blob = await stores.blobs.get(sample.blobKey);
  assert.deepEqual([(await sharp(blob!).metadata()).width, (await sharp(blob!).metadata()).height], PICTURE);
  // The hub's copy is the clean picture: the mask's rows black there too.
  const uploaded = await sharp(blob!).raw().toBuffer();
  assert.ok(maxInRows(uploaded, PICTURE[0], 0, maskRows - 8) <= 12, 'masked rows are black in the uploaded picture');

  await agent.stop();
  agent = undefined;
  // Leave nothing retained on the shared broker.
  await client.publishAsync(snapshotTopic, '', { qos: 1, retain: true });
});

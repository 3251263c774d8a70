// The load test's verdict is only as good as its count: against a real SQLite store and blob
// folder, a confirmed sample that is missing, a row without its JPEG, a row nobody sent, a JPEG
// without a row and a sample still unconfirmed are each counted where they belong; device rows
// that are missing, offline or on another model than the device last said are stale.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FsBlobStore, SqliteRecordStore, type SampleRecord } from '@kestrel/deploy';
import { countDevices, countSamples } from '@kestrel/deploy/loadtest/count';
import { Ledger, percentile } from '@kestrel/deploy/loadtest/ledger';

function row(deviceId: string, id: string): SampleRecord {
  return {
    deviceId, id, camera: 'cam1', capturedAt: 1000, receivedAt: 1040, modelVersion: '1.0.0', reasons: ['uncertainty'],
    detections: [], frameSize: [160, 120], imageSize: [160, 120], blobKey: `samples/${deviceId}/${id}.x.jpg`, bytes: 3,
  };
}

test('countSamples counts lost, missing images, unexpected rows, orphan images and pending samples, each once', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'kestrel-ltcount-'));
  const records = new SqliteRecordStore(join(dir, 'hub.sqlite'));
  const blobs = new FsBlobStore(join(dir, 'blobs'));
  t.after(async () => {
    await records.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const ledger = new Ledger();
  const sent = (device: string, id: string, transport: 'http' | 'mqtt', acked = true) => (ledger.record(device, id, transport).acked = acked);
  sent('d1', 'ok-http', 'http');
  sent('d1', 'ok-mqtt', 'mqtt');
  sent('d1', 'lost-http', 'http');
  sent('d2', 'lost-mqtt', 'mqtt');
  sent('d2', 'no-image', 'http');
  sent('d2', 'pending', 'http', false);
  const stored = [row('d1', 'ok-http'), row('d1', 'ok-mqtt'), row('d2', 'no-image'), row('d3', 'nobody-sent')];
  await records.insertSamples(stored);
  for (const r of stored) if (r.id !== 'no-image') await blobs.put(r.blobKey, Buffer.from('jpg'));
  await blobs.put('samples/d9/orphan.x.jpg', Buffer.from('jpg'));

  const c = await countSamples({ records, blobs }, ledger);
  assert.equal(c.sent, 6);
  assert.equal(c.acked, 5);
  assert.equal(c.pending, 1);
  assert.equal(c.stored, 4);
  assert.deepEqual(c.lost, { http: 1, mqtt: 1 });
  assert.equal(c.missingImages, 1);
  assert.equal(c.unexpectedRows, 1);
  assert.equal(c.orphanImages, 1);
  assert.equal(c.duplicateRows, 0);
  assert.deepEqual(c.mqttIngestMs, [40], 'receivedAt − capturedAt of the stored MQTT sample');
});

test('countDevices: a device whose row is missing, offline or on another model is stale', () => {
  const rows = [
    { deviceId: 'a', online: true, model: { name: 'm', version: '2', sha256: 'new', provider: 'cpu' }, cameras: {}, degraded: [], lastSeen: 1 },
    { deviceId: 'b', online: false, model: { name: 'm', version: '2', sha256: 'new', provider: 'cpu' }, cameras: {}, degraded: [], lastSeen: 1 },
    { deviceId: 'c', online: true, model: { name: 'm', version: '1', sha256: 'old', provider: 'cpu' }, cameras: {}, degraded: [], lastSeen: 1 },
    { deviceId: 'other', online: true, model: null, cameras: {}, degraded: [], lastSeen: 1 },
  ];
  const c = countDevices(rows, new Map([['a', 'new'], ['b', 'new'], ['c', 'new'], ['d', 'new']]));
  assert.equal(c.expected, 4);
  assert.equal(c.rows, 3);
  assert.deepEqual(c.stale, ['b', 'c', 'd']);
});

test('percentile is nearest-rank', () => {
  const values = Array.from({ length: 100 }, (_, i) => 100 - i);
  assert.equal(percentile(values, 50), 50);
  assert.equal(percentile(values, 99), 99);
  assert.equal(percentile([7], 99), 7);
  assert.equal(percentile([], 50), 0);
});

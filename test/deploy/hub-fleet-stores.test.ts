// A hub on PostgreSQL and S3 end to end, as an operator runs it: the `kestrel hub` and
// `kestrel deploy` commands on the same hub.yaml, devices uploading, artifacts served ranged
// from the bucket.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runKestrel } from '../support/cli.js';
import { fixedDetector } from '../agent/support/update-kit.js';
import { testSchema, type TestSchema } from './support/postgres.js';
import { startS3, type TestS3 } from './support/s3.js';
import { getJson, postSamples, startHub, type HubProcess } from './support/hub-process.js';
import { photoJpeg, samplePayload } from './support/samples.js';
import { PG_SCHEMA_VERSION } from '@kestrel/deploy';

let schema: TestSchema;
let s3: TestS3;
let hub: HubProcess;

before(async () => {
  schema = await testSchema();
  s3 = await startS3();
  hub = await startHub({ stores: { hub: { records: schema.config(), blobs: s3.config() } } });
});

after(async () => {
  await hub?.stop();
  await schema?.drop();
  await s3?.close();
});

test('kestrel hub device add / samples work on the PostgreSQL the hub uses; uploads land in PostgreSQL and the bucket', { timeout: 120_000 }, async () => {
  const added = await runKestrel(['hub', 'device', 'add', 'pi-pg', '--config', hub.configPath]);
  assert.equal(added.code, 0, added.stderr);
  const token = added.stdout.trim();
  const image = await photoJpeg('coffee', 200);
  const sample = samplePayload('pi-pg', image);
  const res = await postSamples(hub.url, token, { samples: [sample] });
  assert.equal(res.status, 200, JSON.stringify(res.body));

  const rows = await schema.sql<{ id: string; blob_key: string }>('SELECT id, blob_key FROM samples');
  assert.deepEqual(rows.map((r) => r.id), [sample.id], 'the row is in the hub\'s schema');
  assert.deepEqual(await hub.stores().blobs.get(rows[0]!.blob_key), image.jpeg, 'the JPEG is in the bucket, byte for byte');

  const listed = await runKestrel(['hub', 'samples', '--json', '--config', hub.configPath]);
  assert.equal(listed.code, 0, listed.stderr);
  const doc = JSON.parse(listed.stdout) as { total: number; samples: { id: string }[] };
  assert.equal(doc.total, 1);
  assert.deepEqual(doc.samples.map((s) => s.id), [sample.id]);
  const migrations = await schema.sql<{ version: number }>('SELECT version FROM schema_migrations ORDER BY version');
  assert.deepEqual(migrations.map((m) => m.version), Array.from({ length: PG_SCHEMA_VERSION }, (_, i) => i + 1), 'migrated once, by the hub; the commands found it up to date');
});

test('kestrel deploy release writes the artifact to the bucket, and the hub serves it from there with ranges', { timeout: 120_000 }, async () => {
  const model = join(hub.dir, 'model.onnx');
  const bytes = fixedDetector(32, 0.9, '1.0.0');
  writeFileSync(model, bytes);
  // A child process, awaited: s3rver runs in this test process and must keep answering.
  const released = await runKestrel(['deploy', 'release', model, '--name', 'fixed', '--version', '1.0.0', '--hub-config', hub.configPath, '--json'], { env: { KESTREL_LOG_LEVEL: 'warn' } });
  assert.equal(released.code, 0, released.stderr);
  const record = JSON.parse(released.stdout) as { id: string; sha256: string };
  assert.equal(record.sha256, createHash('sha256').update(bytes).digest('hex'));
  const stored = (await hub.stores().blobs.open(`artifacts/${record.sha256}.onnx`))!;
  assert.equal(stored.size, bytes.length, 'the artifact is in the bucket');
  await stored.close();

  const operator = await hub.token('ops', 'operator');
  const releases = await getJson(`${hub.url}/api/v1/releases`, operator);
  assert.deepEqual(releases.body.releases.map((r: { id: string }) => r.id), ['fixed@1.0.0']);
  const ranged = await fetch(`${hub.url}/api/v1/artifacts/${record.sha256}`, { headers: { authorization: `Bearer ${operator}`, range: 'bytes=10-99' } });
  assert.equal(ranged.status, 206);
  assert.equal(ranged.headers.get('content-range'), `bytes 10-99/${bytes.length}`);
  assert.deepEqual(Buffer.from(await ranged.arrayBuffer()), Buffer.from(bytes.subarray(10, 100)));
  const whole = await fetch(`${hub.url}/api/v1/artifacts/${record.sha256}`, { headers: { authorization: `Bearer ${operator}` } });
  assert.deepEqual(Buffer.from(await whole.arrayBuffer()), Buffer.from(bytes));
});

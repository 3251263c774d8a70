// PostgreSQL or S3 down: the stores say so (E_HUB_STORE_UNAVAILABLE), the hub answers 503 with
// the reason, nothing is half-written, and it recovers without a restart. The shared servers
// are never stopped: an outage is a port where nothing listens, or a TCP proxy the test cuts.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { openBlobStore, openRecordStore, PgRecordStore, S3BlobStore, type BlobStore, type SampleRecord } from '@kestrel/deploy';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runKestrel } from '../support/cli.js';
import { freePort } from '../support/ports.js';
import { pgPort, pgUrlOnPort, testSchema, TEST_PG_URL, type TestSchema } from './support/postgres.js';
import { startS3, type TestS3 } from './support/s3.js';
import { startTcpProxy, type TcpProxy } from './support/tcp-proxy.js';
import { startHub, getJson, postSamples, type HubProcess } from './support/hub-process.js';
import { photoJpeg, samplePayload } from './support/samples.js';

const unavailable = (err: Error & { code?: string }) => {
  assert.equal(err.code, 'E_HUB_STORE_UNAVAILABLE', err.message);
  return true;
};

function record(id: string): SampleRecord {
  return {
    deviceId: 'pi-1',
    id,
    camera: 'door',
    capturedAt: Date.now(),
    receivedAt: Date.now(),
    modelVersion: '1.0.0',
    reasons: ['random'],
    detections: [],
    frameSize: [640, 480],
    imageSize: [320, 240],
    blobKey: `samples/pi-1/${id}.jpg`,
    bytes: 1,
  };
}

async function blobKeys(blobs: BlobStore, prefix: string): Promise<string[]> {
  const keys: string[] = [];
  for await (const key of blobs.list(prefix)) keys.push(key);
  return keys.sort();
}

let schema: TestSchema;
let s3: TestS3;

before(async () => {
  schema = await testSchema();
  s3 = await startS3();
});

after(async () => {
  await schema?.drop();
  await s3?.close();
});

test('stores pointed at a port where nothing listens fail fast with E_HUB_STORE_UNAVAILABLE, naming the store and never the password', async () => {
  const port = await freePort();
  const url = new URL(pgUrlOnPort(port));
  url.password = 'topsecret';
  const started = Date.now();
  await assert.rejects(openRecordStore({ ...schema.config(url.toString()), connectTimeoutSeconds: 2 }), (err: Error & { code?: string }) => {
    unavailable(err);
    assert.match(err.message, new RegExp(`the PostgreSQL database .*127\\.0\\.0\\.1:${port}.* cannot be reached`));
    assert.doesNotMatch(err.message, /topsecret/);
    return true;
  });
  assert.ok(Date.now() - started < 5000, 'refused quickly, not after a long wait');

  const s3Port = await freePort();
  await assert.rejects(openBlobStore(s3.config(`http://127.0.0.1:${s3Port}`)), unavailable);
  const blobs = new S3BlobStore(s3.config(`http://127.0.0.1:${s3Port}`));
  await assert.rejects(blobs.put('samples/x.jpg', Buffer.from('x')), unavailable);
  await assert.rejects(blobs.get('samples/x.jpg'), unavailable);
  await assert.rejects(blobs.open('samples/x.jpg'), unavailable);
  await assert.rejects(blobKeys(blobs, 'samples/'), unavailable);
  await blobs.close();
});

test('kestrel hub with its database not reachable at start exits 1 (systemd restarts it; 2 is for config problems) saying which store', { timeout: 60_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'kestrel-hub-down-'));
  const config = join(dir, 'hub.yaml');
  const url = new URL(pgUrlOnPort(await freePort()));
  url.password = 'topsecret';
  writeFileSync(config, `bind: 127.0.0.1:0\nmqtt: { enabled: false }\nrecords: ${JSON.stringify(schema.config(url.toString()))}\n`);
  const run = await runKestrel(['hub', '--config', config], { timeoutMs: 30_000 });
  rmSync(dir, { recursive: true, force: true });
  assert.equal(run.code, 1, run.stderr);
  assert.match(run.stderr, /the PostgreSQL database .* cannot be reached/);
  assert.doesNotMatch(run.stderr, /topsecret/);
  assert.doesNotMatch(run.stderr, /\n\s+at /, 'no stack trace');
});

test('PostgreSQL cut mid-way: calls fail with E_HUB_STORE_UNAVAILABLE, a batch is all or nothing, and the same store works again when it is back', async (t) => {
  const proxy = await startTcpProxy(pgPort());
  t.after(() => proxy.close());
  const store = (await openRecordStore(schema.config(pgUrlOnPort(proxy.port)))) as PgRecordStore;
  t.after(() => store.close());
  assert.deepEqual(await store.insertSamples([record('before')]), ['stored']);

  proxy.cut(); // the pool's idle connections are reset, new ones refused
  await assert.rejects(store.countSamples(), unavailable);
  await assert.rejects(store.insertSamples([record('during-1'), record('during-2')]), unavailable);
  await assert.rejects(store.tokenByHash('x'), unavailable);

  proxy.restore();
  assert.equal(await store.countSamples(), 1, 'nothing of the batch refused during the cut was written');
  assert.deepEqual(await store.insertSamples([record('during-1'), record('during-2')]), ['stored', 'stored'], 'the pool reconnected by itself');

  // Cut inside a transaction: 400 rows go one statement each; the line drops after about 20 KB.
  const big = Array.from({ length: 400 }, (_, i) => record(`big-${i}`));
  proxy.cutAfter(20_000);
  await assert.rejects(store.insertSamples(big), unavailable);
  proxy.restore();
  const rows = await schema.sql<{ id: string }>('SELECT id FROM samples ORDER BY id');
  assert.deepEqual(rows.map((r) => r.id), ['before', 'during-1', 'during-2'], 'the rows sent before the cut were rolled back with it');
  assert.equal((await store.insertSamples(big)).filter((o) => o === 'stored').length, 400);
});

test('a hub on PostgreSQL and S3 answers 503 E_HUB_STORE_UNAVAILABLE while either is cut off, stores nothing half, and serves again without a restart', { timeout: 120_000 }, async (t) => {
  const pgProxy: TcpProxy = await startTcpProxy(pgPort());
  const s3Proxy: TcpProxy = await startTcpProxy(s3.port);
  const hubSchema = await testSchema();
  t.after(async () => {
    await pgProxy.close();
    await s3Proxy.close();
    await hubSchema.drop();
  });
  const hub: HubProcess = await startHub({
    stores: {
      hub: { records: hubSchema.config(pgUrlOnPort(pgProxy.port)), blobs: s3.config(`http://127.0.0.1:${s3Proxy.port}`) },
      direct: { records: hubSchema.config(TEST_PG_URL), blobs: s3.config() },
    },
  });
  t.after(() => hub.stop());
  const token = await hub.token('pi-1');
  const image = await photoJpeg('astronaut', 160);
  const { records, blobs } = hub.stores();
  const samplesOf = async () => (await blobKeys(blobs, 'samples/pi-1/')).length;

  const first = samplePayload('pi-1', image);
  const stored = await postSamples(hub.url, token, { samples: [first] });
  assert.equal(stored.status, 200, JSON.stringify(stored.body));
  assert.equal(await records.countSamples(), 1);
  assert.equal(await samplesOf(), 1);

  // PostgreSQL unreachable: every request that needs it (the token check included) is a 503.
  pgProxy.cut();
  const refused = samplePayload('pi-1', image);
  const res = await fetch(`${hub.url}/api/v1/samples`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` }, body: JSON.stringify({ samples: [refused] }) });
  assert.equal(res.status, 503);
  assert.ok(Number(res.headers.get('retry-after')) > 0, 'the client is told when to try again');
  const body = (await res.json()) as { error: { code: string; message: string } };
  assert.equal(body.error.code, 'E_HUB_STORE_UNAVAILABLE');
  assert.match(body.error.message, /the PostgreSQL database .* cannot be reached/);
  const listing = await getJson(`${hub.url}/api/v1/samples`, token);
  assert.equal(listing.status, 503);
  assert.equal((await fetch(`${hub.url}/healthz`)).status, 200, 'the hub itself is up');
  assert.equal(await samplesOf(), 1, 'no image of the refused batch was left in the bucket');

  pgProxy.restore();
  const again = await postSamples(hub.url, token, { samples: [refused] });
  assert.equal(again.status, 200, JSON.stringify(again.body));
  assert.deepEqual(again.body.results.map((r: { status: string }) => r.status), ['stored'], 'the refused batch was not stored before');
  assert.equal(await records.countSamples(), 2);

  // S3 unreachable: uploads (their images) and image downloads are 503; no row without its image.
  s3Proxy.cut();
  const noImage = await postSamples(hub.url, token, { samples: [samplePayload('pi-1', image)] });
  assert.equal(noImage.status, 503, JSON.stringify(noImage.body));
  assert.equal(noImage.body.error.code, 'E_HUB_STORE_UNAVAILABLE');
  assert.match(noImage.body.error.message, /the S3 bucket .* cannot be reached/);
  assert.equal(await records.countSamples(), 2, 'no record of the refused batch');
  const download = await fetch(`${hub.url}/api/v1/samples/pi-1/${encodeURIComponent(first.id)}/image`, { headers: { authorization: `Bearer ${token}` } });
  assert.equal(download.status, 503);
  assert.equal(((await download.json()) as { error: { code: string } }).error.code, 'E_HUB_STORE_UNAVAILABLE');

  s3Proxy.restore();
  const back = await fetch(`${hub.url}/api/v1/samples/pi-1/${encodeURIComponent(first.id)}/image`, { headers: { authorization: `Bearer ${token}` } });
  assert.equal(back.status, 200);
  assert.deepEqual(Buffer.from(await back.arrayBuffer()), image.jpeg, 'the image as uploaded');
  const last = await postSamples(hub.url, token, { samples: [samplePayload('pi-1', image)] });
  assert.equal(last.status, 200, JSON.stringify(last.body));
  assert.equal(await records.countSamples(), 3);
  assert.equal(await samplesOf(), 3, 'one image per stored sample, none left over');

  // S3 cut in the middle of an artifact download: that download breaks off (its length is
  // short, so the device knows), the hub stays up, and the next download is whole.
  const artifact = randomBytes(12 * 2 ** 20);
  const sha = createHash('sha256').update(artifact).digest('hex');
  await blobs.put(`artifacts/${sha}.onnx`, artifact);
  const operator = await hub.token('ops', 'operator');
  const download2 = await fetch(`${hub.url}/api/v1/artifacts/${sha}`, { headers: { authorization: `Bearer ${operator}` } });
  assert.equal(download2.status, 200);
  const reader = download2.body!.getReader();
  let received = (await reader.read()).value?.length ?? 0;
  s3Proxy.cut();
  const broke = await (async () => {
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) return false;
        received += value.length;
      }
    } catch {
      return true;
    }
  })();
  assert.ok(broke || received < artifact.length, `the cut download ended short (${received} of ${artifact.length} bytes)`);
  assert.ok(received < artifact.length);
  assert.equal((await fetch(`${hub.url}/healthz`)).status, 200);
  s3Proxy.restore();
  const whole = await fetch(`${hub.url}/api/v1/artifacts/${sha}`, { headers: { authorization: `Bearer ${operator}` } });
  assert.equal(whole.status, 200);
  assert.equal(createHash('sha256').update(Buffer.from(await whole.arrayBuffer())).digest('hex'), sha);
  assert.ok(hub.running(), 'the same hub process throughout');
});

// The hub's sample API against a real hub process: who may upload, what is refused (with an
// error that names the problem), that a refused batch leaves nothing behind, and that a resend
// is recognised by id.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, existsSync, mkdirSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { revokeToken } from '@kestrel/deploy';
import { getJson, postSamples, startHub, type HubProcess } from './support/hub-process.js';
import { photoJpeg, samplePayload } from './support/samples.js';

let hub: HubProcess;
let token: string;
let image: Awaited<ReturnType<typeof photoJpeg>>;

before(async () => {
  hub = await startHub({ extraConfig: ['limits: { maxBodyBytes: 400000, maxImageBytes: 100000, maxBatch: 4 }'] });
  token = await hub.token('pi-1');
  image = await photoJpeg('astronaut', 320);
});
after(() => hub?.stop());

function blobFiles(): string[] {
  const root = join(hub.dir, 'data', 'blobs');
  const out: string[] = [];
  const walk = (d: string): void => {
    if (!existsSync(d)) return;
    for (const e of readdirSync(d, { withFileTypes: true })) e.isDirectory() ? walk(join(d, e.name)) : out.push(join(d, e.name));
  };
  walk(root);
  return out;
}

async function storedCount(): Promise<number> {
  return hub.stores().records.countSamples({});
}

test('a device token uploads a batch; the same batch again is confirmed as duplicates and stored once', async () => {
  const before = await storedCount();
  const batch = { samples: [samplePayload('pi-1', image), samplePayload('pi-1', image, { camera: 'yard', reasons: ['random'] })] };
  const first = await postSamples(hub.url, token, batch);
  assert.equal(first.status, 200, JSON.stringify(first.body));
  assert.deepEqual(first.body.results.map((r: { status: string }) => r.status), ['stored', 'stored']);
  const again = await postSamples(hub.url, token, batch);
  assert.equal(again.status, 200);
  assert.deepEqual(again.body.results.map((r: { status: string }) => r.status), ['duplicate', 'duplicate']);
  assert.equal(await storedCount(), before + 2);
  const stored = await hub.stores().records.getSample('pi-1', batch.samples[0].id);
  assert.ok(stored, 'the row is there');
  assert.deepEqual(await hub.stores().blobs.get(stored.blobKey), image.jpeg, 'the JPEG is stored byte for byte');
});

test('off a terminal the hub writes JSON log lines only, no banner', () => {
  const lines = hub.log().trim().split('\n');
  assert.ok(lines.length > 0);
  for (const line of lines) assert.doesNotThrow(() => JSON.parse(line), `not a JSON line: ${line}`);
  assert.ok(!hub.log().includes('Kestrel hub listening on'));
});

test('requests without a valid token are refused with 401 and a message saying why', async () => {
  const body = { samples: [samplePayload('pi-1', image)] };
  const none = await postSamples(hub.url, undefined, body);
  assert.equal(none.status, 401);
  assert.match(none.body.error.message, /missing bearer token/);
  const wrong = await postSamples(hub.url, 'kst_not-a-token', body);
  assert.equal(wrong.status, 401);
  assert.match(wrong.body.error.message, /unknown token/);
  const malformed = await postSamples(hub.url, undefined, body, { authorization: 'Basic abc' });
  assert.equal(malformed.status, 401);
  assert.match(malformed.body.error.message, /Bearer <token>/);

  const doomed = await hub.token('pi-old');
  assert.equal((await postSamples(hub.url, doomed, { samples: [samplePayload('pi-old', image)] })).status, 200);
  await revokeToken(hub.stores().records, 'pi-old', 'device');
  const revoked = await postSamples(hub.url, doomed, { samples: [samplePayload('pi-old', image)] });
  assert.equal(revoked.status, 401);
  assert.match(revoked.body.error.message, /device "pi-old" was revoked at .*kestrel hub device add pi-old/);
});

test('a token uploads only for its own device, and operator tokens do not upload', async () => {
  const other = await postSamples(hub.url, token, { samples: [samplePayload('pi-2', image)] });
  assert.equal(other.status, 403);
  assert.match(other.body.error.message, /samples\[0\]\.deviceId: "pi-2" is not the device this token belongs to \("pi-1"\)/);
  const operator = await hub.token('alice', 'operator');
  const byOperator = await postSamples(hub.url, operator, { samples: [samplePayload('alice', image)] });
  assert.equal(byOperator.status, 403);
  assert.match(byOperator.body.error.message, /POST \/api\/v1\/samples is for device tokens; this is the operator token of "alice"/);
});

test('malformed bodies are refused with 400/415 naming the problem, and nothing is stored', async () => {
  const count = await storedCount();
  const blobs = blobFiles().length;
  const cases: [string, unknown, number, RegExp, Record<string, string>?][] = [
    ['broken JSON', '{"samples": [', 400, /not valid JSON/],
    ['not a batch', '[1, 2]', 400, /JSON object \{ "samples": \[ \.\.\. \] \}/],
    ['empty batch', { samples: [] }, 400, /the batch is empty/],
    ['missing fields', { samples: [{ schema: 1, id: 'x' }] }, 400, /samples\[0\]\.deviceId: is required/],
    ['newer schema', { samples: [{ ...samplePayload('pi-1', image), schema: 2 }] }, 400, /samples\[0\]\.schema: version 2 is not supported/],
    ['bad box', { samples: [samplePayload('pi-1', image, { detections: [{ label: 'person', score: 0.5, box: [10, 10, 5, 5] }] })] }, 400, /samples\[0\]\.detections\[0\]\.box: must be \[x1, y1, x2, y2\]/],
    ['unsafe id', { samples: [samplePayload('pi-1', image, { id: '../../etc' })] }, 400, /samples\[0\]\.id: must be 1-128 letters/],
    ['wrong content type', 'samples=1', 415, /Content-Type: application\/json/, { 'content-type': 'text/plain' }],
  ];
  for (const [what, body, status, message, headers] of cases) {
    const res = await postSamples(hub.url, token, body, headers);
    assert.equal(res.status, status, `${what}: ${JSON.stringify(res.body)}`);
    assert.match(res.body.error.message, message, what);
  }
  assert.equal(await storedCount(), count);
  assert.equal(blobFiles().length, blobs);
});

test('a corrupt JPEG refuses its whole batch with a clear error, leaving no row and no file', async () => {
  const count = await storedCount();
  const blobs = blobFiles().length;
  const good = samplePayload('pi-1', image);
  const truncated = samplePayload('pi-1', { ...image, jpeg: image.jpeg.subarray(0, Math.floor(image.jpeg.length / 2)) });
  const res = await postSamples(hub.url, token, { samples: [good, truncated] });
  assert.equal(res.status, 400);
  assert.equal(res.body.error.code, 'E_INGEST_IMAGE');
  assert.match(res.body.error.message, /samples\[1\]\.image\.data: not a readable JPEG .*nothing of this batch was stored/);
  const png = samplePayload('pi-1', { ...image, jpeg: Buffer.from('89504e470d0a1a0a0000000d49484452', 'hex') });
  const notJpeg = await postSamples(hub.url, token, { samples: [png] });
  assert.equal(notJpeg.status, 400);
  assert.match(notJpeg.body.error.message, /not a JPEG \(it starts with 89504e47/);
  const wrongSize = await postSamples(hub.url, token, { samples: [samplePayload('pi-1', image, { imageSize: [100, 100] })] });
  assert.equal(wrongSize.status, 400);
  assert.match(wrongSize.body.error.message, /imageSize: says 100×100, the JPEG is 320×/);
  assert.equal(await storedCount(), count);
  assert.equal(blobFiles().length, blobs);
  assert.equal(await hub.stores().records.getSample('pi-1', good.id), undefined, 'the good sample of the refused batch was not stored');
});

test('oversize requests are refused with 413 naming the limit', async () => {
  const count = await storedCount();
  const big = await photoJpeg('chelsea', 1200);
  assert.ok(big.jpeg.length > 100_000 && big.jpeg.length * 1.34 < 400_000, `test image is ${big.jpeg.length} bytes`);
  const image413 = await postSamples(hub.url, token, { samples: [samplePayload('pi-1', big)] });
  assert.equal(image413.status, 413);
  assert.match(image413.body.error.message, /samples\[0\]\.image: \d+ bytes; this hub takes images up to 100000 bytes/);
  const body413 = await postSamples(hub.url, token, { samples: [1, 2, 3].map(() => samplePayload('pi-1', big)) });
  assert.equal(body413.status, 413);
  assert.match(body413.body.error.message, /larger than this hub takes \(limits\.maxBodyBytes: 400000 bytes\)/);
  const batch413 = await postSamples(hub.url, token, { samples: [1, 2, 3, 4, 5].map(() => samplePayload('pi-1', image, { detections: [] })) });
  assert.equal(batch413.status, 413);
  assert.match(batch413.body.error.message, /5 samples in one batch; this hub takes at most 4/);
  assert.equal(await storedCount(), count);
});

test('samples are listed and filtered by device, camera, label, strategy and time; a device sees only its own', async () => {
  const t0 = Date.UTC(2024, 0, 1);
  const fresh = await hub.token('pi-list');
  const samples = [
    samplePayload('pi-list', image, { camera: 'door', capturedAt: t0, reasons: ['uncertainty'], detections: [{ label: 'person', score: 0.4, box: [0, 0, 50, 50] }] }),
    samplePayload('pi-list', image, { camera: 'yard', capturedAt: t0 + 60_000, reasons: ['rareClass', 'uncertainty'], detections: [{ label: 'dog', score: 0.5, box: [0, 0, 50, 50] }] }),
    samplePayload('pi-list', image, { camera: 'yard', capturedAt: t0 + 120_000, reasons: ['random'], detections: [] }),
  ];
  assert.equal((await postSamples(hub.url, fresh, { samples })).status, 200);
  const operator = await hub.token('ops', 'operator');
  const list = async (query: string, as = operator) => {
    const res = await getJson(`${hub.url}/api/v1/samples?${query}`, as);
    assert.equal(res.status, 200, JSON.stringify(res.body));
    return res.body.samples.map((s: { id: string }) => s.id);
  };
  const ids = samples.map((s) => s.id);
  assert.deepEqual(await list('device=pi-list'), ids);
  assert.deepEqual(await list('device=pi-list&camera=yard'), ids.slice(1));
  assert.deepEqual(await list('device=pi-list&label=dog'), [ids[1]]);
  assert.deepEqual(await list('device=pi-list&strategy=uncertainty'), ids.slice(0, 2));
  assert.deepEqual(await list(`device=pi-list&since=${t0 + 60_000}&until=2024-01-01T00:02:00Z`), [ids[1]]);
  const paged = await getJson(`${hub.url}/api/v1/samples?device=pi-list&limit=2`, operator);
  assert.equal(paged.body.samples.length, 2);
  assert.deepEqual(await list(`device=pi-list&after=${paged.body.next}`), [ids[2]]);
  // A device token is scoped to its own samples.
  assert.deepEqual(await list('', fresh), ids);
  const denied = await getJson(`${hub.url}/api/v1/samples?device=pi-1`, fresh);
  assert.equal(denied.status, 403);
  assert.match(denied.body.error.message, /sees only its own samples/);
  const badTime = await getJson(`${hub.url}/api/v1/samples?since=yesterday`, operator);
  assert.equal(badTime.status, 400);
  assert.match(badTime.body.error.message, /since: "yesterday" is neither epoch milliseconds nor an ISO date/);
  const img = await fetch(`${hub.url}/api/v1/samples/pi-list/${ids[0]}/image`, { headers: { authorization: `Bearer ${operator}` } });
  assert.equal(img.headers.get('content-type'), 'image/jpeg');
  assert.deepEqual(Buffer.from(await img.arrayBuffer()), image.jpeg);
});

test('parallel uploads of one sample id with different images: one is stored, and the image served is the stored upload\'s', async () => {
  const sizes = [200, 208, 216, 224, 232, 240, 248, 256, 264, 272, 280, 288];
  const images = await Promise.all(sizes.map((w) => photoJpeg('astronaut', w)));
  const id = `race-${Date.now()}`;
  const uploads = await Promise.all(images.map((img) => postSamples(hub.url, token, { samples: [samplePayload('pi-1', img, { id })] })));
  const statuses = uploads.map((u) => { assert.equal(u.status, 200, JSON.stringify(u.body)); return u.body.results[0].status as string; });
  assert.equal(statuses.filter((s) => s === 'stored').length, 1, statuses.join(','));
  const winner = images[statuses.indexOf('stored')]!;
  const stored = await hub.stores().records.getSample('pi-1', id);
  assert.deepEqual(stored?.imageSize, [winner.width, winner.height], 'the record is the winner\'s');
  const served = await fetch(`${hub.url}/api/v1/samples/pi-1/${id}/image`, { headers: { authorization: `Bearer ${token}` } });
  assert.equal(served.status, 200);
  assert.ok(Buffer.from(await served.arrayBuffer()).equals(winner.jpeg), 'the image served belongs to the stored record');
  assert.equal(blobFiles().filter((f) => f.includes(`/${id}.`)).length, 1, 'the losers\' images are gone');
});

test('after a crash between writing images and their rows, the restarted hub removes the orphan images older than a day (younger ones may be another replica\'s ingest under way)', async () => {
  const orphanDir = join(hub.dir, 'data', 'blobs', 'samples', 'pi-1');
  mkdirSync(orphanDir, { recursive: true });
  const twoDaysAgo = new Date(Date.now() - 48 * 3600_000);
  for (const name of ['never-committed.jpg', 'half-written.jpg.1a2b3c4d.tmp']) {
    writeFileSync(join(orphanDir, name), name.endsWith('.tmp') ? image.jpeg.subarray(0, 100) : image.jpeg);
    utimesSync(join(orphanDir, name), twoDaysAgo, twoDaysAgo);
  }
  writeFileSync(join(orphanDir, 'being-stored.jpg'), image.jpeg);
  const count = await storedCount();
  const before = blobFiles().length;
  await hub.kill();
  await hub.start();
  const after = blobFiles();
  assert.equal(after.length, before - 2);
  assert.ok(!after.some((f) => f.includes('never-committed') || f.includes('half-written')));
  assert.ok(after.some((f) => f.includes('being-stored')), 'a young image without a record is kept');
  assert.equal(await storedCount(), count);
  assert.match(hub.log(), /removed sample images without records/);
});

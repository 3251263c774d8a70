// What a client can make the hub hold: memory for downloads and images, and connections that
// send nothing or almost nothing. Each against a real hub process, measured from /proc.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { connect, type Socket } from 'node:net';
import sharp from 'sharp';
import { postSamples, startHub, type HubProcess } from './support/hub-process.js';
import { samplePayload } from './support/samples.js';

const MB = 2 ** 20;
const hubs: HubProcess[] = [];
after(() => Promise.all(hubs.map((h) => h.stop())));

async function hubWith(extraConfig: string[]): Promise<HubProcess> {
  const hub = await startHub({ extraConfig });
  hubs.push(hub);
  return hub;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A raw HTTP/1.1 connection to the hub: what it sent back, and when it was closed. */
function rawConnection(port: number): { socket: Socket; received: Buffer[]; closed: Promise<number> } {
  const socket = connect(port, '127.0.0.1');
  const received: Buffer[] = [];
  const opened = Date.now();
  socket.on('data', (d) => received.push(d));
  socket.on('error', () => undefined);
  const closed = new Promise<number>((resolve) => socket.once('close', () => resolve(Date.now() - opened)));
  return { socket, received, closed };
}

async function peakRss(hub: HubProcess, forMs: number): Promise<number> {
  let peak = hub.rssBytes();
  for (let t = 0; t < forMs; t += 100) {
    await sleep(100);
    peak = Math.max(peak, hub.rssBytes());
  }
  return peak;
}

test('40 downloads of a 15 MB artifact that stop reading are streamed: the hub grows by far less than one copy each, and every download completes byte for byte', async (t) => {
  const hub = await hubWith([]);
  const token = await hub.token('pi-slow');
  const artifact = randomBytes(15 * MB);
  const sha = createHash('sha256').update(artifact).digest('hex');
  await hub.stores().blobs.put(`artifacts/${sha}.onnx`, artifact);
  const warm = await fetch(`${hub.url}/api/v1/artifacts/${sha}`, { headers: { authorization: `Bearer ${token}` } });
  assert.equal(createHash('sha256').update(Buffer.from(await warm.arrayBuffer())).digest('hex'), sha);
  const baseline = await peakRss(hub, 500);

  const request = `GET /api/v1/artifacts/${sha} HTTP/1.1\r\nHost: hub\r\nAuthorization: Bearer ${token}\r\nConnection: close\r\n\r\n`;
  const downloads = Array.from({ length: 40 }, () => rawConnection(hub.port));
  // Each client reads the first bytes, then stops reading: a device on a stalled uplink.
  await Promise.all(
    downloads.map(
      ({ socket }) =>
        new Promise<void>((resolve) => {
          socket.once('data', () => {
            socket.pause();
            resolve();
          });
          socket.write(request);
        }),
    ),
  );
  const held = await peakRss(hub, 1500);
  const grown = (held - baseline) / MB;
  t.diagnostic(`hub RSS ${(baseline / MB).toFixed(0)} MB before, ${(held / MB).toFixed(0)} MB with 40 stalled 15 MB downloads`);
  // Holding each whole file, as the hub once did, is 600 MB; streaming is socket buffers.
  assert.ok(grown < 150, `the hub grew by ${grown.toFixed(0)} MB for 40 stalled downloads of 15 MB (baseline ${(baseline / MB).toFixed(0)} MB)`);

  for (const { socket } of downloads) socket.resume();
  await Promise.all(downloads.map((d) => d.closed));
  for (const { received } of downloads) {
    const all = Buffer.concat(received);
    const bodyAt = all.indexOf('\r\n\r\n') + 4;
    assert.match(all.subarray(0, bodyAt).toString(), /^HTTP\/1\.1 200/);
    assert.equal(createHash('sha256').update(all.subarray(bodyAt)).digest('hex'), sha, 'the whole artifact arrived');
  }
});

test('images too large for the pixel cap are refused from their header, without the hub decoding them; a batch over the batch cap stores nothing', async (t) => {
  const hub = await hubWith(['limits: { maxImageBytes: 3MiB, maxBodyBytes: 32MiB, maxBatchPixels: 20000000 }']);
  const token = await hub.token('pi-big');
  const solid = (w: number, h: number) => sharp({ create: { width: w, height: h, channels: 3, background: { r: 90, g: 120, b: 60 } } }).jpeg().toBuffer();
  const huge = await solid(7000, 7000);
  const baseline = await peakRss(hub, 300);
  const answers = await Promise.all(
    Array.from({ length: 4 }, () => postSamples(hub.url, token, { samples: [samplePayload('pi-big', { jpeg: huge, width: 7000, height: 7000 }, { imageSize: undefined })] })),
  );
  const held = await peakRss(hub, 300);
  t.diagnostic(`hub RSS ${(baseline / MB).toFixed(0)} MB before, ${(held / MB).toFixed(0)} MB peak refusing 4 parallel 7000×7000 uploads`);
  for (const a of answers) {
    assert.equal(a.status, 413, JSON.stringify(a.body));
    assert.equal(a.body.error.code, 'E_INGEST_TOO_LARGE');
    assert.match(a.body.error.message, /samples\[0\]\.image\.data: 7000×7000 is 49000000 pixels; this hub takes images up to 16777216 pixels \(limits\.maxImagePixels\)/);
  }
  // Decoding four of them at once once took a hub to 1.1 GB (147 MB of pixels each).
  assert.ok((held - baseline) / MB < 100, `the hub grew by ${((held - baseline) / MB).toFixed(0)} MB refusing 4 huge images`);

  const large = await solid(4000, 3000);
  const batch = { samples: [samplePayload('pi-big', { jpeg: large, width: 4000, height: 3000 }), samplePayload('pi-big', { jpeg: large, width: 4000, height: 3000 })] };
  const over = await postSamples(hub.url, token, batch);
  assert.equal(over.status, 413, JSON.stringify(over.body));
  assert.match(over.body.error.message, /samples\[1\]\.image: the batch's images reach 24000000 pixels here; this hub takes up to 20000000 pixels in one request \(limits\.maxBatchPixels\)/);
  assert.equal(await hub.stores().records.countSamples({}), 0, 'nothing of the refused batches was stored');
  const one = await postSamples(hub.url, token, { samples: [batch.samples[0]] });
  assert.equal(one.status, 200, JSON.stringify(one.body));
  assert.equal(await hub.stores().records.countSamples({}), 1);
});

test('with every decode slot busy and the wait line full, an upload is answered 503 E_HUB_BUSY and stores nothing; the others are stored whole', async () => {
  const hub = await hubWith(['limits: { decodeSlots: 1, decodeWaiting: 0, maxImageBytes: 8MiB, maxBodyBytes: 32MiB }']);
  const token = await hub.token('pi-busy');
  const noisy = await sharp(randomBytes(2400 * 2400 * 3), { raw: { width: 2400, height: 2400, channels: 3 } }).jpeg({ quality: 80 }).toBuffer();
  const batches = Array.from({ length: 12 }, () => ({ samples: [samplePayload('pi-busy', { jpeg: noisy, width: 2400, height: 2400 })] }));
  const answers = await Promise.all(batches.map((b) => postSamples(hub.url, token, b)));
  const busy = answers.filter((a) => a.status === 503);
  const stored = answers.filter((a) => a.status === 200);
  assert.equal(busy.length + stored.length, 12, JSON.stringify(answers.map((a) => a.status)));
  assert.ok(busy.length >= 1 && stored.length >= 1, `${busy.length} refused as busy, ${stored.length} stored`);
  for (const a of busy) assert.equal(a.body.error.code, 'E_HUB_BUSY');
  assert.equal(await hub.stores().records.countSamples({}), stored.length, 'exactly the answered-stored samples are there');
});

test('connections that send nothing, headers that trickle and bodies that trickle are closed by the hub on its deadlines; others are served meanwhile', async (t) => {
  const hub = await hubWith(['timeouts: { idleSeconds: 2, headersSeconds: 2, requestSeconds: 3 }']);
  const token = await hub.token('pi-trickle');
  const idle = Array.from({ length: 50 }, () => rawConnection(hub.port));
  const slowHeaders = Array.from({ length: 50 }, () => rawConnection(hub.port));
  const slowBodies = Array.from({ length: 50 }, () => rawConnection(hub.port));
  for (const { socket } of slowHeaders) socket.write('GET /healthz HTTP/1.1\r\nHost: hub\r\n');
  for (const { socket } of slowBodies) socket.write(`POST /api/v1/samples HTTP/1.1\r\nHost: hub\r\nAuthorization: Bearer ${token}\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n{"samples":[`);
  // A byte every 400 ms: never idle long enough for the idle timeout, never finishing.
  const trickle = setInterval(() => {
    for (const { socket } of slowHeaders) if (!socket.destroyed) socket.write('X-Slow: 1\r\n');
    for (const { socket } of slowBodies) if (!socket.destroyed) socket.write(' ');
  }, 400);
  try {
    const health = await fetch(`${hub.url}/healthz`);
    assert.equal(health.status, 200, 'the hub serves others while 150 connections hang');
    const [idleClosed, headersClosed, bodiesClosed] = await Promise.all([idle, slowHeaders, slowBodies].map((group) => Promise.all(group.map((c) => c.closed))));
    t.diagnostic(`closed after (max ms): idle ${Math.max(...idleClosed)}, trickling headers ${Math.max(...headersClosed)}, trickling bodies ${Math.max(...bodiesClosed)}`);
    // Each deadline plus Node's once-a-second check, and room for a loaded machine.
    assert.ok(Math.max(...idleClosed) < 10_000, `idle connections were closed after ${Math.max(...idleClosed)} ms`);
    assert.ok(Math.max(...headersClosed) < 10_000, `trickling headers were closed after ${Math.max(...headersClosed)} ms`);
    assert.ok(Math.max(...bodiesClosed) < 12_000, `trickling bodies were closed after ${Math.max(...bodiesClosed)} ms`);
    assert.ok(Math.min(...bodiesClosed) >= 2_500, `a trickling body was closed after ${Math.min(...bodiesClosed)} ms, before its 3 s request deadline`);
  } finally {
    clearInterval(trickle);
  }
  assert.equal(await hub.stores().records.countSamples({}), 0);
  assert.equal((await fetch(`${hub.url}/healthz`)).status, 200);
});

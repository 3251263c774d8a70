// Artifact download with HTTP Range resume against a hub that dies mid-download and comes back.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import Fastify from 'fastify';
import { silentLogger } from '@kestrel/core';
import { FsBlobStore } from '@kestrel/deploy/store/fs-blobs';
import { ReleaseService, registerReleaseRoutes } from '@kestrel/deploy/release/index';
import { downloadArtifact } from '@kestrel/agent/update/download';
import { freePort } from '../support/ports.js';

const artifact = randomBytes(3 * 1024 * 1024);
const sha256 = createHash('sha256').update(artifact).digest('hex');

/** The real release routes, behind a hook that kills the connection after `cutAfter` bytes of the first body. */
async function hub(port: number, blobs: FsBlobStore, ranges: string[], cutAfter?: number) {
  const app = Fastify();
  const releases = new ReleaseService({ blobs, artifactBaseUrl: `http://127.0.0.1:${port}` });
  app.addHook('onRequest', async (request) => {
    ranges.push(request.headers.range ?? 'none');
  });
  if (cutAfter !== undefined) {
    // The hub process dies mid-body: headers and part of the bytes went out, then the socket closes.
    app.addHook('onSend', async (_request, reply, payload) => {
      // The artifact comes as a stream from the blob store: take its first bytes, then die.
      if (!(payload instanceof Readable)) return payload;
      const chunks: Buffer[] = [];
      let taken = 0;
      for await (const chunk of payload as AsyncIterable<Buffer>) {
        chunks.push(chunk);
        taken += chunk.length;
        if (taken >= cutAfter) break;
      }
      reply.raw.writeHead(reply.statusCode, { ...(reply.getHeaders() as Record<string, string>) });
      reply.raw.write(Buffer.concat(chunks).subarray(0, cutAfter), () => reply.raw.socket?.destroy());
      await app.close().catch(() => undefined);
      return new Promise(() => undefined);
    });
  }
  registerReleaseRoutes(app, { releases, blobs });
  await app.listen({ host: '127.0.0.1', port });
  return app;
}

test('a download cut off by a hub that died resumes with Range where it stopped, across a restart of the device process', async () => {
  const blobs = new FsBlobStore(mkdtempSync(join(tmpdir(), 'kestrel-dl-blobs-')));
  await blobs.put(`artifacts/${sha256}.onnx`, artifact);
  const port = await freePort();
  const dest = join(mkdtempSync(join(tmpdir(), 'kestrel-dl-')), 'model.onnx');
  const url = `http://127.0.0.1:${port}/api/v1/artifacts/${sha256}`;
  const ranges: string[] = [];

  // First process: the hub dies after 1 MiB and stays down; the device gives up, keeping the partial file.
  const dying = await hub(port, blobs, ranges, 1024 * 1024);
  await assert.rejects(downloadArtifact({ url, dest, size: artifact.length, sha256, deadlineMs: 1500, logger: silentLogger }), /failed after \d+ attempts/);
  await dying.close().catch(() => undefined);
  const kept = statSync(`${dest}.partial`).size;
  assert.ok(kept > 0 && kept <= 1024 * 1024, `partial file kept: ${kept} bytes`);

  // The hub is back; a new device process resumes from the partial file.
  const back = await hub(port, blobs, ranges);
  try {
    const result = await downloadArtifact({ url, dest, size: artifact.length, sha256, logger: silentLogger });
    assert.equal(result.resumedFrom, kept);
    assert.equal(ranges.at(-1), `bytes=${kept}-`);
    assert.ok(readFileSync(dest).equals(artifact));
    assert.equal(existsSync(`${dest}.partial`), false);
  } finally {
    await back.close();
  }
});

test('a download whose server restarts mid-body resumes within one attempt budget', async () => {
  const blobs = new FsBlobStore(mkdtempSync(join(tmpdir(), 'kestrel-dl-blobs-')));
  await blobs.put(`artifacts/${sha256}.onnx`, artifact);
  const port = await freePort();
  const dest = join(mkdtempSync(join(tmpdir(), 'kestrel-dl-')), 'model.onnx');
  const ranges: string[] = [];
  const dying = await hub(port, blobs, ranges, 512 * 1024);
  const download = downloadArtifact({ url: `http://127.0.0.1:${port}/api/v1/artifacts/${sha256}`, dest, size: artifact.length, sha256, deadlineMs: 20_000, logger: silentLogger });
  // Restart the hub while the device waits to retry.
  await new Promise((r) => setTimeout(r, 100));
  await dying.close().catch(() => undefined);
  const back = await hub(port, blobs, ranges);
  try {
    const result = await download;
    assert.ok(result.attempts >= 2);
    assert.equal(ranges[0], 'none');
    assert.match(ranges.at(-1)!, /^bytes=\d+-$/);
    assert.ok(readFileSync(dest).equals(artifact));
  } finally {
    await back.close();
  }
});

test('a hub too busy to read the request in time (408) or shedding load (429) is asked again; a 404 is final', async () => {
  const blobs = new FsBlobStore(mkdtempSync(join(tmpdir(), 'kestrel-dl-blobs-')));
  await blobs.put(`artifacts/${sha256}.onnx`, artifact);
  const port = await freePort();
  // The real release routes; the first two requests are answered as an overloaded hub answers
  // them (the load test saw 408s at 4,000 devices on two cores).
  const app = Fastify();
  let busy = ['408', '429'];
  app.addHook('onRequest', async (_request, reply) => {
    const status = busy.shift();
    if (status) return reply.code(Number(status)).send({ error: { code: 'E_BUSY', message: 'busy' } });
  });
  registerReleaseRoutes(app, { releases: new ReleaseService({ blobs, artifactBaseUrl: `http://127.0.0.1:${port}` }), blobs });
  await app.listen({ host: '127.0.0.1', port });
  try {
    const dest = join(mkdtempSync(join(tmpdir(), 'kestrel-dl-')), 'model.onnx');
    const result = await downloadArtifact({ url: `http://127.0.0.1:${port}/api/v1/artifacts/${sha256}`, dest, size: artifact.length, sha256, deadlineMs: 20_000, logger: silentLogger });
    assert.equal(result.attempts, 3);
    assert.ok(readFileSync(dest).equals(artifact));
    busy = [];
    const missing = 'f'.repeat(64);
    await assert.rejects(
      downloadArtifact({ url: `http://127.0.0.1:${port}/api/v1/artifacts/${missing}`, dest: `${dest}.2`, size: 10, sha256: missing, deadlineMs: 20_000, logger: silentLogger }),
      (err: Error & { code?: string }) => err.code === 'E_DOWNLOAD_HTTP' && /404/.test(err.message),
    );
  } finally {
    await app.close();
  }
});

test('the artifact route answers Range requests: 206 with Content-Range, suffix ranges, and 416 past the end', async () => {
  const blobs = new FsBlobStore(mkdtempSync(join(tmpdir(), 'kestrel-dl-blobs-')));
  await blobs.put(`artifacts/${sha256}.onnx`, artifact);
  const port = await freePort();
  const app = await hub(port, blobs, []);
  try {
    const base = `http://127.0.0.1:${port}/api/v1/artifacts/${sha256}`;
    const part = await fetch(base, { headers: { range: 'bytes=10-19' } });
    assert.equal(part.status, 206);
    assert.equal(part.headers.get('content-range'), `bytes 10-19/${artifact.length}`);
    assert.ok(Buffer.from(await part.arrayBuffer()).equals(artifact.subarray(10, 20)));
    const suffix = await fetch(base, { headers: { range: 'bytes=-5' } });
    assert.ok(Buffer.from(await suffix.arrayBuffer()).equals(artifact.subarray(artifact.length - 5)));
    const beyond = await fetch(base, { headers: { range: `bytes=${artifact.length}-` } });
    assert.equal(beyond.status, 416);
    const missing = await fetch(`http://127.0.0.1:${port}/api/v1/artifacts/${'0'.repeat(64)}`);
    assert.equal(missing.status, 404);
  } finally {
    await app.close();
  }
});

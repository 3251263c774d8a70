// The BlobStore contract: one suite every blob store passes (a folder, S3-compatible storage).
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import type { BlobStore } from '@kestrel/deploy';

export interface BlobStoreHarness {
  /** A new, empty store. */
  fresh(): Promise<BlobStore>;
  cleanup(): Promise<void>;
}

async function collect(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

async function keys(store: BlobStore, prefix: string): Promise<string[]> {
  const out: string[] = [];
  for await (const key of store.list(prefix)) out.push(key);
  return out.sort();
}

/** `total` bytes of a repeatable pattern, produced in `chunk`-sized pieces (never whole in memory). */
function patterned(total: number, chunk = 256 * 1024): { stream: Readable; sha256: string; byteAt(i: number): number } {
  const byteAt = (i: number) => (i * 31 + (i >> 12)) & 0xff;
  const hash = createHash('sha256');
  for (let at = 0; at < total; at += chunk) hash.update(piece(at, Math.min(chunk, total - at)));
  function piece(at: number, n: number): Buffer {
    const b = Buffer.allocUnsafe(n);
    for (let i = 0; i < n; i++) b[i] = byteAt(at + i);
    return b;
  }
  const stream = Readable.from(
    (function* () {
      for (let at = 0; at < total; at += chunk) yield piece(at, Math.min(chunk, total - at));
    })(),
  );
  return { stream, sha256: hash.digest('hex'), byteAt };
}

export function blobStoreContract(kind: string, harness: BlobStoreHarness): void {
  describe(`BlobStore contract: ${kind}`, () => {
    after(() => harness.cleanup());

    test('put then get returns the bytes; put overwrites; an absent key is undefined for get and open', async () => {
      const store = await harness.fresh();
      const data = randomBytes(5000);
      await store.put('samples/pi-1/a.jpg', data);
      assert.deepEqual(await store.get('samples/pi-1/a.jpg'), data);
      await store.put('samples/pi-1/a.jpg', Buffer.from('second'));
      assert.deepEqual(await store.get('samples/pi-1/a.jpg'), Buffer.from('second'));
      await store.put('empty.bin', Buffer.alloc(0));
      assert.deepEqual(await store.get('empty.bin'), Buffer.alloc(0));
      const empty = (await store.open('empty.bin'))!;
      assert.equal(empty.size, 0);
      await empty.close();
      assert.equal(await store.get('samples/pi-1/missing.jpg'), undefined);
      assert.equal(await store.open('samples/pi-1/missing.jpg'), undefined);
      await store.close();
    });

    test('open gives the size and streams the whole blob or any byte range of it, one stream per open', async () => {
      const store = await harness.fresh();
      const data = randomBytes(100_000);
      await store.put('artifacts/m.onnx', data);
      const whole = (await store.open('artifacts/m.onnx'))!;
      assert.equal(whole.size, data.length);
      assert.deepEqual(await collect(whole.stream()), data);
      assert.throws(() => whole.stream(), /one stream per open/);
      for (const [start, end] of [[0, 0], [10, 4095], [99_999, 99_999], [0, 99_999]] as const) {
        const blob = (await store.open('artifacts/m.onnx'))!;
        assert.deepEqual(await collect(blob.stream({ start, end })), data.subarray(start, end + 1), `bytes ${start}-${end}`);
      }
      const unused = (await store.open('artifacts/m.onnx'))!;
      await unused.close();
      await store.close();
    });

    test('a large blob is written from a stream and read back in ranges (a multipart upload on S3)', async () => {
      const store = await harness.fresh();
      const total = 20 * 2 ** 20 + 12_345;
      const source = patterned(total);
      await store.put('artifacts/big.onnx', source.stream);
      const blob = (await store.open('artifacts/big.onnx'))!;
      assert.equal(blob.size, total);
      const hash = createHash('sha256');
      for await (const chunk of blob.stream()) hash.update(chunk as Buffer);
      assert.equal(hash.digest('hex'), source.sha256, 'the bytes read are the bytes written');
      const tail = await collect((await store.open('artifacts/big.onnx'))!.stream({ start: total - 3, end: total - 1 }));
      assert.deepEqual([...tail], [source.byteAt(total - 3), source.byteAt(total - 2), source.byteAt(total - 1)]);
      await store.close();
    });

    test('a write whose stream fails leaves nothing new under the key: the old blob, or none', async () => {
      const store = await harness.fresh();
      const failing = () =>
        Readable.from(
          (async function* () {
            yield Buffer.alloc(64 * 1024, 1);
            throw new Error('the source broke');
          })(),
        );
      await assert.rejects(store.put('artifacts/new.onnx', failing()), /the source broke/);
      assert.equal(await store.get('artifacts/new.onnx'), undefined);
      await store.put('artifacts/old.onnx', Buffer.from('old'));
      await assert.rejects(store.put('artifacts/old.onnx', failing()), /the source broke/);
      assert.deepEqual(await store.get('artifacts/old.onnx'), Buffer.from('old'));
      assert.deepEqual(await keys(store, 'artifacts/'), ['artifacts/old.onnx'], 'no partial or temporary blob is listed');
      await store.close();
    });

    test('modifiedAt is when the blob was last written, and undefined for an absent key', async () => {
      const store = await harness.fresh();
      // Whole seconds: S3's Last-Modified has no finer grain, and the server's clock is the machine's.
      const before = Math.floor(Date.now() / 1000) * 1000 - 1000;
      await store.put('samples/pi-1/when.jpg', Buffer.from('x'));
      const at = await store.modifiedAt('samples/pi-1/when.jpg');
      assert.ok(at !== undefined && at >= before && at <= Date.now() + 1000, `modified at ${at}, written after ${before}`);
      assert.equal(await store.modifiedAt('samples/pi-1/never.jpg'), undefined);
      await store.close();
    });

    test('list gives every key under a prefix once; delete removes one and is a no-op for an absent key', async () => {
      const store = await harness.fresh();
      for (const key of ['samples/pi-1/a.jpg', 'samples/pi-1/b.jpg', 'samples/pi-2/deep/c.jpg', 'releases/r1.json']) await store.put(key, Buffer.from(key));
      assert.deepEqual(await keys(store, 'samples/'), ['samples/pi-1/a.jpg', 'samples/pi-1/b.jpg', 'samples/pi-2/deep/c.jpg']);
      assert.deepEqual(await keys(store, 'releases/'), ['releases/r1.json']);
      assert.deepEqual(await keys(store, 'nothing/'), []);
      await store.delete('samples/pi-1/a.jpg');
      await store.delete('samples/pi-1/a.jpg');
      await store.delete('samples/never/there.jpg');
      assert.deepEqual(await keys(store, 'samples/'), ['samples/pi-1/b.jpg', 'samples/pi-2/deep/c.jpg']);
      await store.close();
    });

    test('a blob replaced after open never serves the new bytes through the old open: the opened bytes, or an error', async () => {
      const store = await harness.fresh();
      const first = randomBytes(50_000);
      const second = randomBytes(60_000);
      await store.put('artifacts/r.onnx', first);
      const opened = (await store.open('artifacts/r.onnx'))!;
      await store.put('artifacts/r.onnx', second);
      assert.equal(opened.size, first.length);
      let served: Buffer | undefined;
      try {
        served = await collect(opened.stream());
      } catch {
        // refusing is allowed: a network store cannot pin bytes that were replaced
      }
      if (served) assert.deepEqual(served, first);
      assert.deepEqual(await store.get('artifacts/r.onnx'), second);
      await store.close();
    });

    test('keys that are not plain relative paths are refused', async () => {
      const store = await harness.fresh();
      for (const key of ['../escape', '/abs/key', 'a//b', '.hidden/x', 'a/./b', '']) {
        await assert.rejects(store.put(key, Buffer.from('x')), /not a plain relative path/, JSON.stringify(key));
        await assert.rejects(store.get(key), /not a plain relative path/, JSON.stringify(key));
      }
      await store.close();
    });
  });
}

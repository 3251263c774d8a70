import { mkdirSync, readdirSync } from 'node:fs';
import { mkdir, open, readFile, rename, rm, stat } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { dirname, join, relative, resolve, sep } from 'node:path';
import type { Readable } from 'node:stream';
import { KestrelError } from '@kestrel/core';
import { assertBlobKey } from './blob-key.js';
import type { BlobStore, OpenBlob } from './types.js';
import { singleStreamBlob } from './open-blob.js';

/**
 * The embedded BlobStore: one file per key under a folder. Writes go to a temporary name, are
 * fsynced, then renamed (and the folder fsynced), so a blob is either whole or absent.
 */
export class FsBlobStore implements BlobStore {
  private readonly root: string;

  constructor(root: string) {
    this.root = resolve(root);
    try {
      mkdirSync(this.root, { recursive: true });
    } catch (err) {
      throw new KestrelError('E_HUB_STORE', `cannot create the blob folder ${this.root}: ${(err as Error).message}`);
    }
  }

  private pathOf(key: string): string {
    // Keys come from validated ids, but a key must never reach outside the folder.
    assertBlobKey(key);
    const path = resolve(this.root, key);
    if (!path.startsWith(this.root + sep)) throw new Error(`blob key "${key}" is not a plain relative path`);
    return path;
  }

  async put(key: string, data: Buffer | Readable): Promise<void> {
    const path = this.pathOf(key);
    await mkdir(dirname(path), { recursive: true });
    const tmp = `${path}.${randomBytes(4).toString('hex')}.tmp`;
    const handle = await open(tmp, 'w');
    try {
      if (Buffer.isBuffer(data)) await handle.writeFile(data);
      // One chunk at a time, each written before the next is read: a large artifact is never whole in memory.
      else for await (const chunk of data) await handle.write(chunk as Buffer);
      await handle.sync();
    } catch (err) {
      await handle.close();
      await rm(tmp, { force: true });
      throw err;
    }
    await handle.close();
    await rename(tmp, path);
    const folder = await open(dirname(path), 'r');
    try {
      await folder.sync();
    } finally {
      await folder.close();
    }
  }

  async get(key: string): Promise<Buffer | undefined> {
    try {
      return await readFile(this.pathOf(key));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
  }

  async open(key: string): Promise<OpenBlob | undefined> {
    let handle;
    try {
      handle = await open(this.pathOf(key), 'r');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
    // The size comes from the open file, not the name: a put() that renames a new blob over
    // this key does not change what an already opened reader serves.
    const { size } = await handle.stat();
    // autoClose: the stream closes the file when it ends, errors or is destroyed (a client
    // that hangs up mid-download).
    const file = handle;
    return singleStreamBlob(key, size, (range) => file.createReadStream({ autoClose: true, ...(range ? { start: range.start, end: range.end } : {}) }), () => file.close());
  }

  async delete(key: string): Promise<void> {
    await rm(this.pathOf(key), { force: true });
  }

  async modifiedAt(key: string): Promise<number | undefined> {
    try {
      return (await stat(this.pathOf(key))).mtimeMs;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
  }

  async *list(prefix: string): AsyncIterable<string> {
    const start = join(this.root, prefix);
    const walk = function* (dir: string): Generator<string> {
      let entries;
      try {
        entries = readdirSync(dir, { withFileTypes: true });
      } catch {
        return;
      }
      for (const e of entries) {
        const path = join(dir, e.name);
        if (e.isDirectory()) yield* walk(path);
        else yield path;
      }
    };
    for (const path of walk(start)) yield relative(this.root, path).split(sep).join('/');
  }

  async close(): Promise<void> {
    // Nothing stays open between calls: each read holds its own file handle.
  }
}

import type { BlobsConfig, RecordsConfig } from '@kestrel/config/schema/hub-stores';
import { FsBlobStore } from './fs-blobs.js';
import { SqliteRecordStore } from './sqlite-records.js';
import type { BlobStore, RecordStore } from './types.js';

export interface HubStores {
  records: RecordStore;
  blobs: BlobStore;
}

export interface StoresConfig {
  records: RecordsConfig;
  blobs: BlobsConfig;
}

/**
 * The stores the config names, ready to serve: the record schema migrated (a database newer
 * than this code is refused) and an S3 bucket checked, so a wrong setting stops the hub at start.
 */
export async function openStores(config: StoresConfig): Promise<HubStores> {
  const records = await openRecordStore(config.records);
  try {
    return { records, blobs: await openBlobStore(config.blobs) };
  } catch (err) {
    await records.close();
    throw err;
  }
}

export async function openRecordStore(config: RecordsConfig): Promise<RecordStore> {
  if (config.type === 'sqlite') return new SqliteRecordStore(config.path);
  // Loaded only when named: a site hub on SQLite never loads the PostgreSQL client.
  const { PgRecordStore } = await import('./pg-records.js');
  const store = new PgRecordStore(config);
  try {
    await store.migrate();
  } catch (err) {
    await store.close();
    throw err;
  }
  return store;
}

export async function openBlobStore(config: BlobsConfig): Promise<BlobStore> {
  if (config.type === 'filesystem') return new FsBlobStore(config.path);
  // Likewise the AWS SDK, which is large.
  const { S3BlobStore } = await import('./s3-blobs.js');
  const store = new S3BlobStore(config);
  try {
    await store.check();
  } catch (err) {
    await store.close();
    throw err;
  }
  return store;
}

/** Lets go of both stores (each is closed even when the other fails). */
export async function closeStores(stores: HubStores): Promise<void> {
  await Promise.allSettled([stores.records.close(), stores.blobs.close()]);
}

/**
 * How old an image without a record must be before the start-up repair removes it. With several
 * replicas on one blob store, a young one may be another replica's ingest between writing the
 * JPEG and committing its row: a replica restarted mid-load once removed 29 such images of 6,033
 * (the load test, kill -9 of one of two replicas), leaving rows without their pictures. A day is
 * far past any request or query timeout, and a crash's leftovers cost only disk until then.
 */
export const ORPHAN_GRACE_MS = 24 * 3600_000;

/**
 * Blobs no record refers to: a crash between writing a batch's JPEGs and committing its rows, or
 * a temporary file of an interrupted write. Removed at start, before the hub takes requests, once
 * older than `graceMs`; younger ones are left for a later start.
 */
export async function removeOrphanBlobs(stores: HubStores, options: { graceMs?: number; now?: number } = {}): Promise<{ removed: number; young: number }> {
  const referenced = await stores.records.sampleBlobKeys();
  const before = (options.now ?? Date.now()) - (options.graceMs ?? ORPHAN_GRACE_MS);
  let removed = 0;
  let young = 0;
  for await (const key of stores.blobs.list('samples/')) {
    if (referenced.has(key)) continue;
    const at = await stores.blobs.modifiedAt(key);
    if (at === undefined) continue; // gone since it was listed: stored and committed, or removed
    if (at > before) {
      young++;
      continue;
    }
    await stores.blobs.delete(key);
    removed++;
  }
  return { removed, young };
}

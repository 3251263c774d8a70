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
 * Blobs no record refers to: a crash between writing a batch's JPEGs and committing its rows, or
 * a temporary file of an interrupted write. Removed at start, before the hub takes requests.
 */
export async function removeOrphanBlobs(stores: HubStores): Promise<number> {
  const referenced = await stores.records.sampleBlobKeys();
  let removed = 0;
  for await (const key of stores.blobs.list('samples/')) {
    if (referenced.has(key)) continue;
    await stores.blobs.delete(key);
    removed++;
  }
  return removed;
}

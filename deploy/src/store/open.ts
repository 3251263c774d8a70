import type { HubConfig } from '@kestrel/config/schema/hub';
import { FsBlobStore } from './fs-blobs.js';
import { SqliteRecordStore } from './sqlite-records.js';
import type { BlobStore, RecordStore } from './types.js';

export interface HubStores {
  records: RecordStore;
  blobs: BlobStore;
}

/** The stores the config names (today: SQLite and a folder; the types leave room for more). */
export function openStores(config: Pick<HubConfig, 'records' | 'blobs'>): HubStores {
  return { records: new SqliteRecordStore(config.records.path), blobs: new FsBlobStore(config.blobs.path) };
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

/**
 * What releases and rollouts need from the hub's storage: the BlobStore the hub defines
 * (store/types.ts). Release and rollout records are small JSON documents kept in that same blob
 * store (`releases/`, `rollouts/`, `counters/`), so they work on the folder store and on an
 * S3-compatible one without new RecordStore methods. The counters are read-modify-write: one
 * hub process issues manifests (with several hub replicas they belong in the RecordStore, in a
 * transaction).
 */
export type { BlobStore } from '../store/types.js';

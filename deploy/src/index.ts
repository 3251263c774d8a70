// @kestrel/deploy: the fleet side. Today the hub: device tokens, sample ingest over HTTP (and
// MQTT), the device table from the fleet's retained topics, and dataset export.
export { registerDeployCommands } from './commands.js';
export { Hub } from './hub/hub.js';
// The hub's config is declared in @kestrel/config beside the agent's; re-exported for the hub's users.
export { createHubConfigSchema, loadHubConfig, parseHubConfig, DEFAULT_HUB_BIND, type HubConfig, type HubConfigInput } from '@kestrel/config';
export { SampleIngest, IngestError, type IngestLimits, type IngestResult } from './hub/ingest.js';
export { issueToken, revokeToken, authenticate, hashToken, type IssuedToken, type Authentication } from './hub/tokens.js';
export { checkJpegHeader, decodeJpeg, type JpegInfo } from './hub/image-check.js';
export { FleetListener, type FleetStats } from './hub/fleet.js';
export { buildHubApp, type HubAppDeps } from './hub/http/app.js';
export { filterFrom, parseTime } from './hub/http/query.js';
export { exportDataset, DEFAULT_EXPORT_MIN_SCORE, type ExportOptions, type ExportReport, type ExportFormat } from './export/export.js';
export { selectLabels, imageFileName, type LabelSource, type ImageLabel } from './export/labels.js';
export { SqliteRecordStore } from './store/sqlite-records.js';
export { FsBlobStore } from './store/fs-blobs.js';
export { PgRecordStore } from './store/pg-records.js';
export { S3BlobStore } from './store/s3-blobs.js';
export { openStores, openRecordStore, openBlobStore, closeStores, removeOrphanBlobs, type HubStores, type StoresConfig } from './store/open.js';
export { STORE_UNAVAILABLE, isStoreUnavailable } from './store/errors.js';
export { PG_SCHEMA_VERSION } from './store/pg-migrations.js';
export { SQLITE_SCHEMA_VERSION } from './store/sqlite-migrations.js';
export type { RecordsConfig, BlobsConfig, PostgresRecordsConfig, S3BlobsConfig } from '@kestrel/config/schema/hub-stores';
export * from './store/types.js';
export * from './release/index.js';
export * from './rollout/index.js';

import type Database from 'better-sqlite3';
import { schemaTooNew } from './errors.js';

/**
 * The SQLite schema as numbered steps, recorded in schema_migrations as on PostgreSQL. Step 1
 * is the schema hubs had before versions were recorded, written with IF NOT EXISTS, so those
 * databases take it as a no-op. A released step is never edited: a change is a new step.
 */
export const SQLITE_MIGRATIONS: readonly { version: number; name: string; sql: string }[] = [
  {
    version: 1,
    name: 'tokens, samples, fleet devices',
    sql: `
CREATE TABLE IF NOT EXISTS tokens (
  hash TEXT PRIMARY KEY,
  name TEXT NOT NULL,
  role TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  revoked_at INTEGER
);
CREATE INDEX IF NOT EXISTS tokens_by_name ON tokens (name, role);
CREATE TABLE IF NOT EXISTS samples (
  device_id TEXT NOT NULL,
  id TEXT NOT NULL,
  camera TEXT NOT NULL,
  captured_at INTEGER NOT NULL,
  received_at INTEGER NOT NULL,
  model_version TEXT NOT NULL,
  reasons TEXT NOT NULL,
  detections TEXT NOT NULL,
  shadow TEXT,
  -- A person's labels (JSON list) win over detections in exports; NULL: not reviewed.
  reviewed TEXT,
  reviewed_by TEXT,
  reviewed_at INTEGER,
  frame_width INTEGER NOT NULL,
  frame_height INTEGER NOT NULL,
  image_width INTEGER NOT NULL,
  image_height INTEGER NOT NULL,
  hash TEXT,
  blob_key TEXT NOT NULL,
  bytes INTEGER NOT NULL,
  PRIMARY KEY (device_id, id)
);
CREATE INDEX IF NOT EXISTS samples_by_time ON samples (captured_at, device_id, id);
CREATE TABLE IF NOT EXISTS fleet_devices (
  device_id TEXT PRIMARY KEY,
  online INTEGER NOT NULL DEFAULT 0,
  agent_version TEXT,
  model TEXT,
  cameras TEXT NOT NULL DEFAULT '{}',
  degraded TEXT NOT NULL DEFAULT '[]',
  last_seen INTEGER NOT NULL
);;`,
  },
  {
    version: 2,
    name: 'rollouts with a driver lease',
    sql: `
CREATE TABLE rollouts (
  id TEXT PRIMARY KEY,
  status TEXT NOT NULL,
  started_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  -- The rollout module's state (plan, waves, per-device results) as JSON.
  state TEXT NOT NULL,
  abort_by TEXT,
  abort_at INTEGER,
  -- The replica driving it and until when; NULL: free to claim.
  lease_holder TEXT,
  lease_expires INTEGER
);
CREATE INDEX rollouts_by_status ON rollouts (status, started_at);`,
  },
  {
    version: 3,
    name: 'drift per camera',
    sql: `
CREATE TABLE drift_cameras (
  device_id TEXT NOT NULL,
  camera TEXT NOT NULL,
  at INTEGER NOT NULL,
  since INTEGER NOT NULL,
  drifted INTEGER NOT NULL,
  psi REAL NOT NULL,
  js REAL NOT NULL,
  model_version TEXT NOT NULL,
  received_at INTEGER NOT NULL,
  -- threshold, baseline, per-frame rates, the worst and every compared figure, as JSON.
  detail TEXT NOT NULL,
  PRIMARY KEY (device_id, camera)
);`,
  },
  {
    version: 4,
    name: 'fleet devices keep the time of the state they show',
    // The device's own updatedAt of the state a row shows: replicas handle a device's messages in
    // any order, and an older state handled later must not replace a newer one.
    sql: `ALTER TABLE fleet_devices ADD COLUMN state_at INTEGER NOT NULL DEFAULT 0;`,
  },
  {
    version: 5,
    name: 'shadow comparisons',
    sql: `
CREATE TABLE shadows (
  id TEXT PRIMARY KEY,
  release TEXT NOT NULL,
  share REAL NOT NULL,
  until INTEGER NOT NULL,
  created_at INTEGER NOT NULL,
  created_by TEXT NOT NULL,
  -- The target device ids and the signed manifest, as JSON.
  targets TEXT NOT NULL,
  manifest TEXT NOT NULL,
  stopped_by TEXT,
  stopped_at INTEGER
);
CREATE INDEX shadows_by_created ON shadows (created_at);
CREATE TABLE shadow_reports (
  shadow_id TEXT NOT NULL,
  device_id TEXT NOT NULL,
  at INTEGER NOT NULL,
  received_at INTEGER NOT NULL,
  -- The device's whole report (per camera figures), as JSON.
  report TEXT NOT NULL,
  PRIMARY KEY (shadow_id, device_id)
);`,
  },
];

export const SQLITE_SCHEMA_VERSION = Math.max(...SQLITE_MIGRATIONS.map((m) => m.version));

/** Brings the schema up to date in one write transaction; refuses a schema newer than this code. */
export function migrateSqlite(db: Database.Database, where: string): number[] {
  const run = db.transaction((): number[] => {
    db.exec('CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)');
    const current = db.prepare<[], { version: number | null }>('SELECT max(version) AS version FROM schema_migrations').get()?.version ?? 0;
    if (current > SQLITE_SCHEMA_VERSION) throw schemaTooNew(where, current, SQLITE_SCHEMA_VERSION);
    const applied: number[] = [];
    for (const step of SQLITE_MIGRATIONS) {
      if (step.version <= current) continue;
      db.exec(step.sql);
      db.prepare('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)').run(step.version, step.name, Date.now());
      applied.push(step.version);
    }
    return applied;
  });
  // IMMEDIATE: two processes opening one new file migrate one after the other, not both.
  return run.immediate();
}

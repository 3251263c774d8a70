import type { PoolClient } from 'pg';
import { schemaTooNew } from './errors.js';

/**
 * The PostgreSQL schema as numbered steps. A step is never edited once released: a change is a
 * new step, so every database reaches the same schema whatever version it started from.
 * Text keys use the "C" collation: ordering (and so paging cursors) is by bytes, as in SQLite.
 */
export const PG_MIGRATIONS: readonly { version: number; name: string; sql: string }[] = [
  {
    version: 1,
    name: 'tokens, samples, fleet devices',
    sql: `
CREATE TABLE tokens (
  hash text PRIMARY KEY,
  name text COLLATE "C" NOT NULL,
  role text NOT NULL,
  created_at bigint NOT NULL,
  revoked_at bigint
);
CREATE INDEX tokens_by_name ON tokens (name, role);
CREATE TABLE samples (
  device_id text COLLATE "C" NOT NULL,
  id text COLLATE "C" NOT NULL,
  camera text NOT NULL,
  captured_at bigint NOT NULL,
  received_at bigint NOT NULL,
  model_version text NOT NULL,
  reasons jsonb NOT NULL,
  detections jsonb NOT NULL,
  shadow jsonb,
  -- A person's labels win over detections in exports; NULL: not reviewed.
  reviewed jsonb,
  reviewed_by text,
  reviewed_at bigint,
  frame_width integer NOT NULL,
  frame_height integer NOT NULL,
  image_width integer NOT NULL,
  image_height integer NOT NULL,
  hash text,
  blob_key text NOT NULL,
  bytes integer NOT NULL,
  PRIMARY KEY (device_id, id)
);
CREATE INDEX samples_by_time ON samples (captured_at, device_id, id);
CREATE TABLE fleet_devices (
  device_id text COLLATE "C" PRIMARY KEY,
  online boolean NOT NULL DEFAULT false,
  agent_version text,
  -- JSON text, not jsonb: a device that reported "no model" (null) differs from one that never said.
  model text,
  cameras jsonb NOT NULL DEFAULT '{}',
  degraded jsonb NOT NULL DEFAULT '[]',
  last_seen bigint NOT NULL
);`,
  },
  {
    version: 2,
    name: 'rollouts with a driver lease',
    sql: `
CREATE TABLE rollouts (
  id text COLLATE "C" PRIMARY KEY,
  status text NOT NULL,
  started_at bigint NOT NULL,
  updated_at bigint NOT NULL,
  -- The rollout module's state (plan, waves, per-device results).
  state jsonb NOT NULL,
  abort_by text,
  abort_at bigint,
  -- The replica driving it and until when; NULL: free to claim.
  lease_holder text,
  lease_expires bigint
);
CREATE INDEX rollouts_by_status ON rollouts (status, started_at);`,
  },
  {
    version: 3,
    name: 'drift per camera',
    sql: `
CREATE TABLE drift_cameras (
  device_id text COLLATE "C" NOT NULL,
  camera text COLLATE "C" NOT NULL,
  at bigint NOT NULL,
  since bigint NOT NULL,
  drifted boolean NOT NULL,
  psi double precision NOT NULL,
  js double precision NOT NULL,
  model_version text NOT NULL,
  received_at bigint NOT NULL,
  -- threshold, baseline, per-frame rates, the worst and every compared figure.
  detail jsonb NOT NULL,
  PRIMARY KEY (device_id, camera)
);`,
  },
  {
    version: 4,
    name: 'fleet devices keep the time of the state they show',
    // The device's own updatedAt of the state a row shows: replicas handle a device's messages in
    // any order, and an older state handled later must not replace a newer one.
    sql: `ALTER TABLE fleet_devices ADD COLUMN state_at bigint NOT NULL DEFAULT 0;`,
  },
  {
    version: 5,
    name: 'shadow comparisons',
    sql: `
CREATE TABLE shadows (
  id text COLLATE "C" PRIMARY KEY,
  release text NOT NULL,
  share double precision NOT NULL,
  until bigint NOT NULL,
  created_at bigint NOT NULL,
  created_by text NOT NULL,
  targets jsonb NOT NULL,
  manifest jsonb NOT NULL,
  stopped_by text,
  stopped_at bigint
);
CREATE INDEX shadows_by_created ON shadows (created_at);
CREATE TABLE shadow_reports (
  shadow_id text COLLATE "C" NOT NULL,
  device_id text COLLATE "C" NOT NULL,
  at bigint NOT NULL,
  received_at bigint NOT NULL,
  -- The device's whole report (per camera figures).
  report jsonb NOT NULL,
  PRIMARY KEY (shadow_id, device_id)
);`,
  },
];

export const PG_SCHEMA_VERSION = Math.max(...PG_MIGRATIONS.map((m) => m.version));

/** Any fixed number: every hub process of one database takes the same lock while it migrates. */
const MIGRATION_LOCK = 0x6b657374; // "kest"

/**
 * Brings the schema up to date in one transaction, under an advisory lock so that replicas
 * starting together migrate once; refuses a schema newer than this code. Returns the versions applied.
 */
export async function migratePostgres(client: PoolClient, where: string, schema?: string): Promise<number[]> {
  await client.query('BEGIN');
  try {
    await client.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK]);
    // The connection's search_path names the schema; it must exist before a table can go in it.
    if (schema) await client.query(`CREATE SCHEMA IF NOT EXISTS "${schema}"`);
    await client.query(`CREATE TABLE IF NOT EXISTS schema_migrations (
      version integer PRIMARY KEY,
      name text NOT NULL,
      applied_at timestamptz NOT NULL DEFAULT now()
    )`);
    const { rows } = await client.query<{ version: number | null }>('SELECT max(version) AS version FROM schema_migrations');
    const current = rows[0]?.version ?? 0;
    if (current > PG_SCHEMA_VERSION) throw schemaTooNew(where, current, PG_SCHEMA_VERSION);
    const applied: number[] = [];
    for (const step of PG_MIGRATIONS) {
      if (step.version <= current) continue;
      await client.query(step.sql);
      await client.query('INSERT INTO schema_migrations (version, name) VALUES ($1, $2)', [step.version, step.name]);
      applied.push(step.version);
    }
    await client.query('COMMIT');
    return applied;
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  }
}

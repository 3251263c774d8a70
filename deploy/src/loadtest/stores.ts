import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import pg from 'pg';
import { KestrelError, redactUrl } from '@kestrel/core';
import type { StoresConfig } from '../store/open.js';

export interface RunStores {
  config: StoresConfig;
  /** What the report names: `sqlite` or `postgres (schema …)`. */
  describe: string;
  /** Drops what the run made in a database it was given (the folder goes with the run's folder). */
  drop(): Promise<void>;
}

/**
 * The run's records store: a fresh SQLite file in its folder, or on a postgres:// URL a schema of
 * its own (kestrel_loadtest_<random>), dropped at the end, so a run never touches a hub's tables.
 * The blobs are a folder of the run's.
 */
export async function runStores(dir: string, url: string | undefined): Promise<RunStores> {
  const blobs = { type: 'filesystem' as const, path: join(dir, 'blobs') };
  if (!url) return { config: { records: { type: 'sqlite', path: join(dir, 'hub.sqlite') }, blobs }, describe: 'sqlite', drop: async () => {} };
  const schema = `kestrel_loadtest_${randomBytes(5).toString('hex')}`;
  const admin = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5000 });
  try {
    await admin.connect();
    await admin.query(`CREATE SCHEMA ${schema}`);
  } catch (err) {
    await admin.end().catch(() => undefined);
    throw new KestrelError('E_LOADTEST', `--records ${redactUrl(url)}: cannot create a schema for the run: ${(err as Error).message}`);
  }
  return {
    config: { records: { type: 'postgres', url, schema, poolSize: 10, connectTimeoutSeconds: 5, queryTimeoutSeconds: 30 }, blobs },
    describe: `postgres (schema ${schema}, dropped after)`,
    async drop() {
      try {
        await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
      } finally {
        await admin.end().catch(() => undefined);
      }
    },
  };
}

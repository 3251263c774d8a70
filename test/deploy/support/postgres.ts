// PostgreSQL for tests: the machine's server (127.0.0.1:5432, trust auth, database `test`, or
// $KESTREL_TEST_PG_URL). Each caller gets its own schema, kestrel_test_<random>, dropped at the
// end, so parallel test files and other sessions never see each other's tables.
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import type { PostgresRecordsConfig } from '@kestrel/deploy';

export const TEST_PG_URL = process.env.KESTREL_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

export interface TestSchema {
  schema: string;
  /** A records config for this schema (the hub's defaults, short timeouts). */
  config(url?: string): PostgresRecordsConfig;
  /** Runs SQL on this schema (search_path set), e.g. to look at what a store wrote. */
  sql<R extends pg.QueryResultRow = pg.QueryResultRow>(text: string, params?: unknown[]): Promise<R[]>;
  drop(): Promise<void>;
}

export async function testSchema(): Promise<TestSchema> {
  const schema = `kestrel_test_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: TEST_PG_URL });
  await admin.connect();
  await admin.query(`CREATE SCHEMA ${schema}`);
  await admin.query(`SET search_path = ${schema}`);
  return {
    schema,
    config: (url = TEST_PG_URL) => ({ type: 'postgres', url, schema, poolSize: 4, connectTimeoutSeconds: 2, queryTimeoutSeconds: 5 }),
    sql: async (text, params = []) => (await admin.query(text, params)).rows,
    async drop() {
      await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
      await admin.end();
    },
  };
}

/** The test URL with another port (a proxy in front of the server, or nothing at all). */
export function pgUrlOnPort(port: number): string {
  const url = new URL(TEST_PG_URL);
  url.port = String(port);
  return url.toString();
}

/** The server's port, for a proxy to forward to. */
export function pgPort(): number {
  return Number(new URL(TEST_PG_URL).port || 5432);
}

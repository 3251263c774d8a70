// The RecordStore contract against both record stores: SQLite (a temporary file) and
// PostgreSQL (the machine's server, a schema of its own dropped at the end).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { openRecordStore, type PostgresRecordsConfig, type RecordStore } from '@kestrel/deploy';
import { recordStoreContract } from './support/record-store-contract.js';
import { testSchema, type TestSchema } from './support/postgres.js';

const dir = mkdtempSync(join(tmpdir(), 'kestrel-records-'));
const sqlitePaths = new Map<RecordStore, string>();
let files = 0;

recordStoreContract('SQLite', {
  async fresh() {
    const path = join(dir, `records-${++files}.sqlite`);
    const store = await openRecordStore({ type: 'sqlite', path });
    sqlitePaths.set(store, path);
    return store;
  },
  async reopen(store) {
    const path = sqlitePaths.get(store)!;
    const again = await openRecordStore({ type: 'sqlite', path });
    sqlitePaths.set(again, path);
    return again;
  },
  async stampSchemaVersion(store, version) {
    const db = new Database(sqlitePaths.get(store)!);
    db.prepare('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)').run(version, 'from a newer hub', Date.now());
    db.close();
  },
  async cleanup() {
    rmSync(dir, { recursive: true, force: true });
  },
});

// One schema per fresh store: each starts empty and migrates from nothing, as a new database does.
const schemas: TestSchema[] = [];
const pgConfigs = new Map<RecordStore, { config: PostgresRecordsConfig; schema: TestSchema }>();

recordStoreContract('PostgreSQL', {
  async fresh() {
    const schema = await testSchema();
    schemas.push(schema);
    const config = schema.config();
    const store = await openRecordStore(config);
    pgConfigs.set(store, { config, schema });
    return store;
  },
  async reopen(store) {
    const known = pgConfigs.get(store)!;
    const again = await openRecordStore(known.config);
    pgConfigs.set(again, known);
    return again;
  },
  async stampSchemaVersion(store, version) {
    await pgConfigs.get(store)!.schema.sql('INSERT INTO schema_migrations (version, name) VALUES ($1, $2)', [version, 'from a newer hub']);
  },
  async cleanup() {
    await Promise.all(schemas.map((s) => s.drop()));
  },
});

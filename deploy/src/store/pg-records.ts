import pg from 'pg';
import { KestrelError } from '@kestrel/core';
import type { PostgresRecordsConfig } from '@kestrel/config/schema/hub-stores';
import { storeUnavailable } from './errors.js';
import { migratePostgres } from './pg-migrations.js';
import {
  decodeCursor, encodeCursor, fromDriftRow, fromFleetRow, fromRolloutRow, fromSampleRow, fromTokenRow, pageLimit, sampleColumns,
  fromShadowReportRow, fromShadowRow, type ShadowReportRow, type ShadowRow,
  type DriftRow, type FleetRow, type RolloutRow, type SampleRow, type TokenRow,
} from './record-rows.js';
import {
  sampleKey,
  type FleetDeviceRecord,
  type DriftRecord,
  type FleetDeviceUpdate,
  type ShadowRecord,
  type ShadowReportRecord,
  type InsertOutcome,
  type RecordStore,
  type RolloutStatus,
  type StoredRollout,
  type SampleFilter,
  type SamplePage,
  type SampleRecord,
  type TokenRecord,
  type TokenRole,
} from './types.js';

const INT8_OID = 20;

/**
 * Epoch milliseconds are bigint columns, which node-postgres hands back as strings (a bigint may
 * not fit a JS number). Ours always fit, so this pool reads them as numbers — through its own
 * type table, leaving the process-wide one of other pg users alone.
 */
const TYPES = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
    oid === INT8_OID ? (value: string) => Number(value) : pg.types.getTypeParser(oid, format as 'text')) as typeof pg.types.getTypeParser,
};

/** SQLSTATE classes and codes that say the server cannot serve now, not that the request was wrong. */
const UNAVAILABLE_SQLSTATE = /^(08...|57P0[1-3]|53300|53400)$/;
const UNAVAILABLE_ERRNO = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN']);
const UNAVAILABLE_MESSAGE = /Connection terminated|timeout exceeded when trying to connect|Query read timeout|connection error|Connection closed/i;

function isUnavailable(err: unknown): boolean {
  const code = (err as { code?: unknown }).code;
  if (typeof code === 'string' && (UNAVAILABLE_SQLSTATE.test(code) || UNAVAILABLE_ERRNO.has(code))) return true;
  return err instanceof Error && UNAVAILABLE_MESSAGE.test(err.message);
}

/**
 * The RecordStore on PostgreSQL, for fleets and several hub replicas. Every write is one
 * statement or one transaction, so a request cut off by an outage leaves nothing half-written;
 * the pool makes new connections as requests come, so the hub recovers without a restart.
 */
export class PgRecordStore implements RecordStore {
  private readonly pool: pg.Pool;
  private readonly where: string;

  constructor(private readonly config: Pick<PostgresRecordsConfig, 'url' | 'schema' | 'poolSize' | 'connectTimeoutSeconds' | 'queryTimeoutSeconds'>) {
    const url = new URL(config.url);
    if (url.password) url.password = '***';
    this.where = `the PostgreSQL database ${url.toString()}`;
    this.pool = new pg.Pool({
      connectionString: config.url,
      max: config.poolSize,
      connectionTimeoutMillis: config.connectTimeoutSeconds * 1000,
      query_timeout: config.queryTimeoutSeconds * 1000,
      idleTimeoutMillis: 30_000,
      // Tables in their own schema (a shared database, a test run); quoted, as migrate creates it.
      ...(config.schema ? { options: `-c search_path="${config.schema}"` } : {}),
      types: TYPES,
      application_name: 'kestrel-hub',
    });
    // An idle connection the server (or the network) drops emits here; without a listener it
    // would crash the hub. The pool discards that connection and makes a new one when needed.
    this.pool.on('error', () => undefined);
  }

  /** Applies pending migrations (refusing a newer schema); call once before serving. */
  async migrate(): Promise<number[]> {
    return this.withClient((client) => migratePostgres(client, this.where, this.config.schema));
  }

  /** Runs on one pooled connection; a broken connection is destroyed, not returned to the pool. */
  private async withClient<T>(fn: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    let client: pg.PoolClient;
    try {
      client = await this.pool.connect();
    } catch (err) {
      throw this.translate(err);
    }
    // A connection that breaks between two statements of a transaction emits 'error' on the
    // client, not on a query: unheard, that event would crash the hub. The next statement fails
    // on the broken connection, and the connection is then destroyed, not pooled again.
    let broken: Error | undefined;
    const onError = (err: Error) => {
      broken = err;
    };
    client.on('error', onError);
    try {
      const result = await fn(client);
      client.off('error', onError);
      client.release(broken);
      return result;
    } catch (err) {
      client.off('error', onError);
      client.release(broken ?? (isUnavailable(err) ? (err as Error) : undefined));
      throw this.translate(err);
    }
  }

  private async query<R extends pg.QueryResultRow>(sql: string, params: unknown[] = []): Promise<pg.QueryResult<R>> {
    try {
      return await this.pool.query<R>(sql, params);
    } catch (err) {
      throw this.translate(err);
    }
  }

  /** All or nothing: BEGIN … COMMIT on one connection, ROLLBACK on any error. */
  private transaction<T>(fn: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    return this.withClient(async (client) => {
      await client.query('BEGIN');
      try {
        const result = await fn(client);
        await client.query('COMMIT');
        return result;
      } catch (err) {
        await client.query('ROLLBACK').catch(() => undefined);
        throw err;
      }
    });
  }

  private translate(err: unknown): unknown {
    if (err instanceof KestrelError) return err;
    return isUnavailable(err) ? storeUnavailable(this.where, err) : err;
  }

  async addToken(token: TokenRecord): Promise<void> {
    await this.query('INSERT INTO tokens (hash, name, role, created_at, revoked_at) VALUES ($1, $2, $3, $4, $5)', [token.hash, token.name, token.role, token.createdAt, token.revokedAt ?? null]);
  }

  async tokenByHash(hash: string): Promise<TokenRecord | undefined> {
    const { rows } = await this.query<TokenRow>('SELECT * FROM tokens WHERE hash = $1', [hash]);
    return rows[0] && fromTokenRow(rows[0]);
  }

  async activeToken(name: string, role: TokenRole): Promise<TokenRecord | undefined> {
    const { rows } = await this.query<TokenRow>('SELECT * FROM tokens WHERE name = $1 AND role = $2 AND revoked_at IS NULL LIMIT 1', [name, role]);
    return rows[0] && fromTokenRow(rows[0]);
  }

  async revokeTokens(name: string, role: TokenRole, at: number): Promise<number> {
    const result = await this.query('UPDATE tokens SET revoked_at = $1 WHERE name = $2 AND role = $3 AND revoked_at IS NULL', [at, name, role]);
    return result.rowCount ?? 0;
  }

  async listTokens(role?: TokenRole): Promise<TokenRecord[]> {
    const { rows } = role
      ? await this.query<TokenRow>('SELECT * FROM tokens WHERE role = $1 ORDER BY name, created_at', [role])
      : await this.query<TokenRow>('SELECT * FROM tokens ORDER BY role, name, created_at');
    return rows.map(fromTokenRow);
  }

  async existingSamples(keys: readonly { deviceId: string; id: string }[]): Promise<Set<string>> {
    if (keys.length === 0) return new Set();
    const { rows } = await this.query<{ device_id: string; id: string }>(
      'SELECT s.device_id, s.id FROM samples s JOIN unnest($1::text[], $2::text[]) AS k(device_id, id) ON s.device_id = k.device_id AND s.id = k.id',
      [keys.map((k) => k.deviceId), keys.map((k) => k.id)],
    );
    return new Set(rows.map((r) => sampleKey(r.device_id, r.id)));
  }

  async insertSamples(samples: readonly SampleRecord[]): Promise<InsertOutcome[]> {
    if (samples.length === 0) return [];
    const columns = sampleColumns();
    const sql = `INSERT INTO samples (${columns.map((c) => c.column).join(', ')}) VALUES (${columns.map((_, i) => `$${i + 1}`).join(', ')}) ON CONFLICT (device_id, id) DO NOTHING`;
    return this.transaction(async (client) => {
      const outcomes: InsertOutcome[] = [];
      for (const sample of samples) {
        const result = await client.query(sql, columns.map((c) => c.value(sample)));
        outcomes.push(result.rowCount ? 'stored' : 'duplicate');
      }
      return outcomes;
    });
  }

  async getSample(deviceId: string, id: string): Promise<SampleRecord | undefined> {
    const { rows } = await this.query<SampleRow>('SELECT * FROM samples WHERE device_id = $1 AND id = $2', [deviceId, id]);
    return rows[0] && fromSampleRow(rows[0]);
  }

  async listSamples(filter: SampleFilter, options: { limit?: number; after?: string } = {}): Promise<SamplePage> {
    const limit = pageLimit(options.limit);
    const { where, params } = whereClause(filter);
    if (options.after) {
      const [capturedAt, deviceId, id] = decodeCursor(options.after);
      params.push(capturedAt, deviceId, id);
      where.push(`(captured_at, device_id, id) > ($${params.length - 2}, $${params.length - 1}, $${params.length})`);
    }
    params.push(limit + 1);
    const sql = `SELECT * FROM samples ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY captured_at, device_id, id LIMIT $${params.length}`;
    const { rows } = await this.query<SampleRow>(sql, params);
    const page = rows.slice(0, limit).map(fromSampleRow);
    const last = page[page.length - 1];
    return rows.length > limit && last ? { samples: page, next: encodeCursor(last) } : { samples: page };
  }

  async countSamples(filter: SampleFilter = {}): Promise<number> {
    const { where, params } = whereClause(filter);
    const { rows } = await this.query<{ n: number }>(`SELECT count(*) AS n FROM samples ${where.length ? `WHERE ${where.join(' AND ')}` : ''}`, params);
    return rows[0]!.n;
  }

  async setReviewed(deviceId: string, id: string, reviewed: NonNullable<SampleRecord['reviewed']> | null): Promise<boolean> {
    const result = await this.query('UPDATE samples SET reviewed = $1, reviewed_by = $2, reviewed_at = $3 WHERE device_id = $4 AND id = $5', [
      reviewed ? JSON.stringify(reviewed.labels) : null,
      reviewed?.by ?? null,
      reviewed?.at ?? null,
      deviceId,
      id,
    ]);
    return (result.rowCount ?? 0) > 0;
  }

  async replaceReviewed(deviceId: string, id: string, expectedAt: number | null, reviewed: NonNullable<SampleRecord['reviewed']>): Promise<'saved' | 'missing' | 'stale'> {
    // The condition is part of the UPDATE, so two editors saving at once cannot both pass it;
    // IS NOT DISTINCT FROM treats "no review yet" (NULL) as a value like any other.
    const result = await this.query('UPDATE samples SET reviewed = $1, reviewed_by = $2, reviewed_at = $3 WHERE device_id = $4 AND id = $5 AND reviewed_at IS NOT DISTINCT FROM $6::bigint', [
      JSON.stringify(reviewed.labels),
      reviewed.by,
      reviewed.at,
      deviceId,
      id,
      expectedAt,
    ]);
    if ((result.rowCount ?? 0) > 0) return 'saved';
    const { rows } = await this.query('SELECT 1 FROM samples WHERE device_id = $1 AND id = $2', [deviceId, id]);
    return rows.length > 0 ? 'stale' : 'missing';
  }

  async sampleBlobKeys(): Promise<Set<string>> {
    const { rows } = await this.query<{ blob_key: string }>('SELECT blob_key FROM samples');
    return new Set(rows.map((r) => r.blob_key));
  }

  /**
   * One statement, so two replicas updating one device never lose a field to each other: the
   * fields given replace the stored ones, last_seen only moves forward.
   */
  async upsertFleetDevice(update: FleetDeviceUpdate): Promise<void> {
    const given = (key: keyof FleetDeviceRecord) => Object.prototype.hasOwnProperty.call(update, key);
    const fields: { column: string; key: keyof FleetDeviceRecord; value: unknown; ofState: boolean }[] = [
      { column: 'online', key: 'online', value: update.online ?? false, ofState: false },
      { column: 'agent_version', key: 'agentVersion', value: update.agentVersion ?? null, ofState: true },
      { column: 'model', key: 'model', value: update.model === undefined ? null : JSON.stringify(update.model), ofState: true },
      { column: 'cameras', key: 'cameras', value: JSON.stringify(update.cameras ?? {}), ofState: true },
      { column: 'degraded', key: 'degraded', value: JSON.stringify(update.degraded ?? []), ofState: true },
    ];
    const ordered = update.stateAt !== undefined;
    // One statement, so two replicas' upserts of one device cannot interleave: a state field is
    // replaced only when this state is not older than the one the row shows.
    const sets = fields
      .filter((f) => given(f.key))
      .map((f) => (ordered && f.ofState ? `${f.column} = CASE WHEN EXCLUDED.state_at >= fleet_devices.state_at THEN EXCLUDED.${f.column} ELSE fleet_devices.${f.column} END` : `${f.column} = EXCLUDED.${f.column}`));
    if (ordered) sets.push('state_at = GREATEST(fleet_devices.state_at, EXCLUDED.state_at)');
    sets.push('last_seen = GREATEST(fleet_devices.last_seen, EXCLUDED.last_seen)');
    await this.query(
      `INSERT INTO fleet_devices (device_id, online, agent_version, model, cameras, degraded, last_seen, state_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
        ON CONFLICT (device_id) DO UPDATE SET ${sets.join(', ')}`,
      [update.deviceId, ...fields.map((f) => f.value), update.lastSeen, update.stateAt ?? 0],
    );
  }

  async listFleetDevices(): Promise<FleetDeviceRecord[]> {
    const { rows } = await this.query<FleetRow>('SELECT * FROM fleet_devices ORDER BY device_id');
    return rows.map(fromFleetRow);
  }

  async upsertDrift(r: DriftRecord): Promise<void> {
    await this.query(
      `INSERT INTO drift_cameras (device_id, camera, at, since, drifted, psi, js, model_version, received_at, detail) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
        ON CONFLICT (device_id, camera) DO UPDATE SET at = EXCLUDED.at, since = EXCLUDED.since, drifted = EXCLUDED.drifted, psi = EXCLUDED.psi, js = EXCLUDED.js,
        model_version = EXCLUDED.model_version, received_at = EXCLUDED.received_at, detail = EXCLUDED.detail
        WHERE EXCLUDED.at >= drift_cameras.at`,
      [r.deviceId, r.camera, r.at, r.since, r.drifted, r.psi, r.js, r.modelVersion, r.receivedAt, JSON.stringify(r.detail)],
    );
  }

  async listDrift(filter: { deviceId?: string; drifted?: boolean } = {}): Promise<DriftRecord[]> {
    const where: string[] = [];
    const params: unknown[] = [];
    if (filter.deviceId !== undefined) {
      params.push(filter.deviceId);
      where.push(`device_id = $${params.length}`);
    }
    if (filter.drifted !== undefined) {
      params.push(filter.drifted);
      where.push(`drifted = $${params.length}`);
    }
    const { rows } = await this.query<DriftRow>(`SELECT * FROM drift_cameras${where.length ? ` WHERE ${where.join(' AND ')}` : ''} ORDER BY device_id, camera`, params);
    return rows.map(fromDriftRow);
  }

  async insertShadow(r: ShadowRecord): Promise<void> {
    await this.query('INSERT INTO shadows (id, release, share, until, created_at, created_by, targets, manifest) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)', [
      r.id, r.release, r.share, r.until, r.createdAt, r.createdBy, JSON.stringify(r.targets), JSON.stringify(r.manifest),
    ]);
  }

  async getShadow(id: string): Promise<ShadowRecord | undefined> {
    const { rows } = await this.query<ShadowRow>('SELECT * FROM shadows WHERE id = $1', [id]);
    return rows[0] ? fromShadowRow(rows[0]) : undefined;
  }

  async listShadows(options: { limit?: number } = {}): Promise<ShadowRecord[]> {
    const { rows } = await this.query<ShadowRow>('SELECT * FROM shadows ORDER BY created_at DESC, id LIMIT $1', [options.limit ?? 100]);
    return rows.map(fromShadowRow);
  }

  async stopShadow(id: string, by: string, at: number): Promise<'stopped' | 'missing' | 'stopped-already'> {
    const { rowCount } = await this.query('UPDATE shadows SET stopped_by = $1, stopped_at = $2 WHERE id = $3 AND stopped_at IS NULL', [by, at, id]);
    if ((rowCount ?? 0) > 0) return 'stopped';
    const { rows } = await this.query('SELECT 1 FROM shadows WHERE id = $1', [id]);
    return rows.length ? 'stopped-already' : 'missing';
  }

  async upsertShadowReport(r: ShadowReportRecord): Promise<void> {
    await this.query(
      `INSERT INTO shadow_reports (shadow_id, device_id, at, received_at, report) VALUES ($1, $2, $3, $4, $5)
        ON CONFLICT (shadow_id, device_id) DO UPDATE SET at = EXCLUDED.at, received_at = EXCLUDED.received_at, report = EXCLUDED.report
        WHERE EXCLUDED.at >= shadow_reports.at`,
      [r.shadowId, r.deviceId, r.at, r.receivedAt, JSON.stringify(r.report)],
    );
  }

  async listShadowReports(shadowId: string): Promise<ShadowReportRecord[]> {
    const { rows } = await this.query<ShadowReportRow>('SELECT * FROM shadow_reports WHERE shadow_id = $1 ORDER BY device_id', [shadowId]);
    return rows.map(fromShadowReportRow);
  }

  async insertRollout(r: Omit<StoredRollout, 'lease' | 'abortRequested'>): Promise<void> {
    await this.query('INSERT INTO rollouts (id, status, started_at, updated_at, state) VALUES ($1, $2, $3, $4, $5)', [r.id, r.status, r.startedAt, r.updatedAt, JSON.stringify(r.state)]);
  }

  async getRollout(id: string): Promise<StoredRollout | undefined> {
    const { rows } = await this.query<RolloutRow>('SELECT * FROM rollouts WHERE id = $1', [id]);
    return rows[0] && fromRolloutRow(rows[0]);
  }

  async listRollouts(options: { limit?: number } = {}): Promise<StoredRollout[]> {
    const { rows } = await this.query<RolloutRow>('SELECT * FROM rollouts ORDER BY started_at DESC, id DESC LIMIT $1', [options.limit ?? 100]);
    return rows.map(fromRolloutRow);
  }

  async runningRolloutIds(): Promise<string[]> {
    const { rows } = await this.query<{ id: string }>("SELECT id FROM rollouts WHERE status = 'running' ORDER BY started_at, id");
    return rows.map((r) => r.id);
  }

  async claimRollout(id: string, holder: string, now: number, leaseMs: number): Promise<boolean> {
    // One statement: of two replicas claiming one expired lease, the row lock lets one win; the
    // other re-checks the condition against the winner's row and changes nothing.
    const result = await this.query(
      "UPDATE rollouts SET lease_holder = $1, lease_expires = $2 WHERE id = $3 AND status = 'running' AND (lease_holder IS NULL OR lease_holder = $1 OR lease_expires <= $4)",
      [holder, now + leaseMs, id, now],
    );
    return (result.rowCount ?? 0) > 0;
  }

  async saveRollout(id: string, holder: string, update: { status: RolloutStatus; state: unknown; updatedAt: number }): Promise<boolean> {
    const done = update.status !== 'running';
    const result = await this.query(
      `UPDATE rollouts SET status = $1, state = $2, updated_at = $3${done ? ', lease_holder = NULL, lease_expires = NULL' : ''}
        WHERE id = $4 AND lease_holder = $5 AND status = 'running'`,
      [update.status, JSON.stringify(update.state), update.updatedAt, id, holder],
    );
    return (result.rowCount ?? 0) > 0;
  }

  async releaseRollout(id: string, holder: string): Promise<void> {
    await this.query('UPDATE rollouts SET lease_holder = NULL, lease_expires = NULL WHERE id = $1 AND lease_holder = $2', [id, holder]);
  }

  async requestRolloutAbort(id: string, by: string, at: number): Promise<'requested' | 'missing' | 'finished'> {
    await this.query("UPDATE rollouts SET abort_by = $1, abort_at = $2 WHERE id = $3 AND status = 'running' AND abort_at IS NULL", [by, at, id]);
    const { rows } = await this.query<{ status: RolloutStatus }>('SELECT status FROM rollouts WHERE id = $1', [id]);
    return !rows[0] ? 'missing' : rows[0].status === 'running' ? 'requested' : 'finished';
  }

  async close(): Promise<void> {
    if (!this.pool.ended) await this.pool.end();
  }
}

function whereClause(filter: SampleFilter): { where: string[]; params: unknown[] } {
  const where: string[] = [];
  const params: unknown[] = [];
  const add = (sql: (n: string) => string, value: unknown) => {
    params.push(value);
    where.push(sql(`$${params.length}`));
  };
  if (filter.deviceId !== undefined) add((n) => `device_id = ${n}`, filter.deviceId);
  if (filter.camera !== undefined) add((n) => `camera = ${n}`, filter.camera);
  if (filter.since !== undefined) add((n) => `captured_at >= ${n}`, filter.since);
  if (filter.until !== undefined) add((n) => `captured_at < ${n}`, filter.until);
  if (filter.strategy !== undefined) add((n) => `reasons @> jsonb_build_array(${n}::text)`, filter.strategy);
  // The labels an export would write: reviewed ones where a person gave them.
  if (filter.label !== undefined) add((n) => `COALESCE(reviewed, detections) @> jsonb_build_array(jsonb_build_object('label', ${n}::text))`, filter.label);
  if (filter.reviewed !== undefined) where.push(filter.reviewed ? 'reviewed IS NOT NULL' : 'reviewed IS NULL');
  return { where, params };
}


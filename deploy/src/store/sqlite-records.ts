import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { KestrelError } from '@kestrel/core';
import {
  decodeCursor, encodeCursor, fromDriftRow, fromFleetRow, fromRolloutRow, fromSampleRow, fromTokenRow, pageLimit,
  fromShadowReportRow, fromShadowRow, type ShadowReportRow, type ShadowRow,
  type DriftRow, type FleetRow, type RolloutRow, type SampleRow, type TokenRow,
} from './record-rows.js';
import { migrateSqlite } from './sqlite-migrations.js';
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

/** The embedded RecordStore: one SQLite file in WAL mode (readers — `kestrel hub export` — never block the service). */
export class SqliteRecordStore implements RecordStore {
  private readonly db: Database.Database;

  constructor(readonly path: string) {
    try {
      mkdirSync(dirname(path), { recursive: true });
      this.db = new Database(path);
    } catch (err) {
      throw new KestrelError('E_HUB_STORE', `cannot open the hub database ${path}: ${(err as Error).message}`);
    }
    this.db.pragma('journal_mode = WAL');
    // FULL: a sample the hub confirmed must survive a power cut (the device deletes its copy).
    this.db.pragma('synchronous = FULL');
    this.db.pragma('busy_timeout = 5000');
    try {
      migrateSqlite(this.db, `the hub database ${path}`);
    } catch (err) {
      this.db.close();
      throw err;
    }
  }

  async addToken(token: TokenRecord): Promise<void> {
    this.db.prepare('INSERT INTO tokens (hash, name, role, created_at, revoked_at) VALUES (?, ?, ?, ?, ?)').run(token.hash, token.name, token.role, token.createdAt, token.revokedAt ?? null);
  }

  async tokenByHash(hash: string): Promise<TokenRecord | undefined> {
    const row = this.db.prepare<[string], TokenRow>('SELECT * FROM tokens WHERE hash = ?').get(hash);
    return row && fromTokenRow(row);
  }

  async activeToken(name: string, role: TokenRole): Promise<TokenRecord | undefined> {
    const row = this.db.prepare<[string, string], TokenRow>('SELECT * FROM tokens WHERE name = ? AND role = ? AND revoked_at IS NULL').get(name, role);
    return row && fromTokenRow(row);
  }

  async revokeTokens(name: string, role: TokenRole, at: number): Promise<number> {
    return this.db.prepare('UPDATE tokens SET revoked_at = ? WHERE name = ? AND role = ? AND revoked_at IS NULL').run(at, name, role).changes;
  }

  async listTokens(role?: TokenRole): Promise<TokenRecord[]> {
    const rows = role
      ? this.db.prepare<[string], TokenRow>('SELECT * FROM tokens WHERE role = ? ORDER BY name, created_at').all(role)
      : this.db.prepare<[], TokenRow>('SELECT * FROM tokens ORDER BY role, name, created_at').all();
    return rows.map(fromTokenRow);
  }

  async existingSamples(keys: readonly { deviceId: string; id: string }[]): Promise<Set<string>> {
    const stmt = this.db.prepare<[string, string], { one: number }>('SELECT 1 AS one FROM samples WHERE device_id = ? AND id = ?');
    return new Set(keys.filter((k) => stmt.get(k.deviceId, k.id)).map((k) => sampleKey(k.deviceId, k.id)));
  }

  async insertSamples(samples: readonly SampleRecord[]): Promise<InsertOutcome[]> {
    const insert = this.db.prepare(`INSERT INTO samples (device_id, id, camera, captured_at, received_at, model_version, reasons, detections, shadow,
      reviewed, reviewed_by, reviewed_at, frame_width, frame_height, image_width, image_height, hash, blob_key, bytes)
      VALUES (@deviceId, @id, @camera, @capturedAt, @receivedAt, @modelVersion, @reasons, @detections, @shadow, @reviewed, @reviewedBy, @reviewedAt,
      @frameWidth, @frameHeight, @imageWidth, @imageHeight, @hash, @blobKey, @bytes)
      ON CONFLICT (device_id, id) DO NOTHING`);
    const run = this.db.transaction((list: readonly SampleRecord[]) =>
      list.map((s): InsertOutcome => (insert.run(toSampleParams(s)).changes > 0 ? 'stored' : 'duplicate')),
    );
    return run(samples);
  }

  async getSample(deviceId: string, id: string): Promise<SampleRecord | undefined> {
    const row = this.db.prepare<[string, string], SampleRow>('SELECT * FROM samples WHERE device_id = ? AND id = ?').get(deviceId, id);
    return row && fromSampleRow(row);
  }

  async listSamples(filter: SampleFilter, options: { limit?: number; after?: string } = {}): Promise<SamplePage> {
    const limit = pageLimit(options.limit);
    const { where, params } = whereClause(filter);
    if (options.after) {
      const [capturedAt, deviceId, id] = decodeCursor(options.after);
      where.push('(captured_at, device_id, id) > (?, ?, ?)');
      params.push(capturedAt, deviceId, id);
    }
    const sql = `SELECT * FROM samples ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY captured_at, device_id, id LIMIT ?`;
    const rows = this.db.prepare<unknown[], SampleRow>(sql).all(...params, limit + 1);
    const page = rows.slice(0, limit).map(fromSampleRow);
    const last = page[page.length - 1];
    return rows.length > limit && last ? { samples: page, next: encodeCursor(last) } : { samples: page };
  }

  async countSamples(filter: SampleFilter = {}): Promise<number> {
    const { where, params } = whereClause(filter);
    const sql = `SELECT count(*) AS n FROM samples ${where.length ? `WHERE ${where.join(' AND ')}` : ''}`;
    return this.db.prepare<unknown[], { n: number }>(sql).get(...params)!.n;
  }

  async setReviewed(deviceId: string, id: string, reviewed: NonNullable<SampleRecord['reviewed']> | null): Promise<boolean> {
    const result = this.db
      .prepare('UPDATE samples SET reviewed = ?, reviewed_by = ?, reviewed_at = ? WHERE device_id = ? AND id = ?')
      .run(reviewed ? JSON.stringify(reviewed.labels) : null, reviewed?.by ?? null, reviewed?.at ?? null, deviceId, id);
    return result.changes > 0;
  }

  async replaceReviewed(deviceId: string, id: string, expectedAt: number | null, reviewed: NonNullable<SampleRecord['reviewed']>): Promise<'saved' | 'missing' | 'stale'> {
    // `IS` compares NULL with NULL as equal: a first review expects reviewed_at IS NULL. The
    // condition lives in the UPDATE itself, so two savers cannot both pass it.
    const result = this.db
      .prepare('UPDATE samples SET reviewed = ?, reviewed_by = ?, reviewed_at = ? WHERE device_id = ? AND id = ? AND reviewed_at IS ?')
      .run(JSON.stringify(reviewed.labels), reviewed.by, reviewed.at, deviceId, id, expectedAt);
    if (result.changes > 0) return 'saved';
    return this.db.prepare('SELECT 1 FROM samples WHERE device_id = ? AND id = ?').get(deviceId, id) ? 'stale' : 'missing';
  }

  async sampleBlobKeys(): Promise<Set<string>> {
    return new Set(this.db.prepare<[], { blob_key: string }>('SELECT blob_key FROM samples').all().map((r) => r.blob_key));
  }

  async upsertFleetDevice(update: FleetDeviceUpdate): Promise<void> {
    // Read and write in one transaction: SQLite runs one writer at a time, so another replica's
    // upsert of this device comes wholly before or after.
    this.db.transaction(() => {
      const row = this.db.prepare<[string], FleetRow & { state_at: number }>('SELECT * FROM fleet_devices WHERE device_id = ?').get(update.deviceId);
      const current: FleetDeviceRecord = row ? fromFleetRow(row) : { deviceId: update.deviceId, online: false, cameras: {}, degraded: [], lastSeen: update.lastSeen };
      const shownAt = row?.state_at ?? 0;
      const { stateAt, ...given } = update;
      // An older state than the row shows (handled late by another replica) keeps only its lastSeen.
      if (stateAt !== undefined && stateAt < shownAt) {
        delete given.agentVersion;
        delete given.model;
        delete given.cameras;
        delete given.degraded;
      }
      const next: FleetDeviceRecord = { ...current, ...given, lastSeen: Math.max(current.lastSeen, update.lastSeen) };
      this.db
        .prepare(`INSERT INTO fleet_devices (device_id, online, agent_version, model, cameras, degraded, last_seen, state_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
          ON CONFLICT (device_id) DO UPDATE SET online = excluded.online, agent_version = excluded.agent_version, model = excluded.model,
          cameras = excluded.cameras, degraded = excluded.degraded, last_seen = excluded.last_seen, state_at = excluded.state_at`)
        .run(next.deviceId, next.online ? 1 : 0, next.agentVersion ?? null, next.model === undefined ? null : JSON.stringify(next.model), JSON.stringify(next.cameras), JSON.stringify(next.degraded), next.lastSeen, Math.max(shownAt, stateAt ?? 0));
    }).immediate();
  }

  async listFleetDevices(): Promise<FleetDeviceRecord[]> {
    return this.db.prepare<[], FleetRow>('SELECT * FROM fleet_devices ORDER BY device_id').all().map(fromFleetRow);
  }

  async upsertDrift(r: DriftRecord): Promise<void> {
    this.db
      .prepare(`INSERT INTO drift_cameras (device_id, camera, at, since, drifted, psi, js, model_version, received_at, detail) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
        ON CONFLICT (device_id, camera) DO UPDATE SET at = excluded.at, since = excluded.since, drifted = excluded.drifted, psi = excluded.psi, js = excluded.js,
        model_version = excluded.model_version, received_at = excluded.received_at, detail = excluded.detail
        WHERE excluded.at >= drift_cameras.at`)
      .run(r.deviceId, r.camera, r.at, r.since, r.drifted ? 1 : 0, r.psi, r.js, r.modelVersion, r.receivedAt, JSON.stringify(r.detail));
  }

  async listDrift(filter: { deviceId?: string; drifted?: boolean } = {}): Promise<DriftRecord[]> {
    const where: string[] = [];
    const params: unknown[] = [];
    if (filter.deviceId !== undefined) {
      where.push('device_id = ?');
      params.push(filter.deviceId);
    }
    if (filter.drifted !== undefined) {
      where.push('drifted = ?');
      params.push(filter.drifted ? 1 : 0);
    }
    const sql = `SELECT * FROM drift_cameras${where.length ? ` WHERE ${where.join(' AND ')}` : ''} ORDER BY device_id, camera`;
    return this.db.prepare<unknown[], DriftRow>(sql).all(...params).map(fromDriftRow);
  }

  async insertShadow(r: ShadowRecord): Promise<void> {
    this.db
      .prepare('INSERT INTO shadows (id, release, share, until, created_at, created_by, targets, manifest) VALUES (?, ?, ?, ?, ?, ?, ?, ?)')
      .run(r.id, r.release, r.share, r.until, r.createdAt, r.createdBy, JSON.stringify(r.targets), JSON.stringify(r.manifest));
  }

  async getShadow(id: string): Promise<ShadowRecord | undefined> {
    const row = this.db.prepare<[string], ShadowRow>('SELECT * FROM shadows WHERE id = ?').get(id);
    return row ? fromShadowRow(row) : undefined;
  }

  async listShadows(options: { limit?: number } = {}): Promise<ShadowRecord[]> {
    return this.db.prepare<[number], ShadowRow>('SELECT * FROM shadows ORDER BY created_at DESC, id LIMIT ?').all(options.limit ?? 100).map(fromShadowRow);
  }

  async stopShadow(id: string, by: string, at: number): Promise<'stopped' | 'missing' | 'stopped-already'> {
    const changed = this.db.prepare('UPDATE shadows SET stopped_by = ?, stopped_at = ? WHERE id = ? AND stopped_at IS NULL').run(by, at, id).changes;
    if (changed > 0) return 'stopped';
    return this.db.prepare('SELECT 1 FROM shadows WHERE id = ?').get(id) ? 'stopped-already' : 'missing';
  }

  async upsertShadowReport(r: ShadowReportRecord): Promise<void> {
    this.db
      .prepare(`INSERT INTO shadow_reports (shadow_id, device_id, at, received_at, report) VALUES (?, ?, ?, ?, ?)
        ON CONFLICT (shadow_id, device_id) DO UPDATE SET at = excluded.at, received_at = excluded.received_at, report = excluded.report
        WHERE excluded.at >= shadow_reports.at`)
      .run(r.shadowId, r.deviceId, r.at, r.receivedAt, JSON.stringify(r.report));
  }

  async listShadowReports(shadowId: string): Promise<ShadowReportRecord[]> {
    return this.db.prepare<[string], ShadowReportRow>('SELECT * FROM shadow_reports WHERE shadow_id = ? ORDER BY device_id').all(shadowId).map(fromShadowReportRow);
  }

  async insertRollout(r: Omit<StoredRollout, 'lease' | 'abortRequested'>): Promise<void> {
    this.db.prepare('INSERT INTO rollouts (id, status, started_at, updated_at, state) VALUES (?, ?, ?, ?, ?)').run(r.id, r.status, r.startedAt, r.updatedAt, JSON.stringify(r.state));
  }

  async getRollout(id: string): Promise<StoredRollout | undefined> {
    const row = this.db.prepare<[string], RolloutRow>('SELECT * FROM rollouts WHERE id = ?').get(id);
    return row && fromRolloutRow(row);
  }

  async listRollouts(options: { limit?: number } = {}): Promise<StoredRollout[]> {
    return this.db.prepare<[number], RolloutRow>('SELECT * FROM rollouts ORDER BY started_at DESC, id DESC LIMIT ?').all(options.limit ?? 100).map(fromRolloutRow);
  }

  async runningRolloutIds(): Promise<string[]> {
    return this.db.prepare<[], { id: string }>("SELECT id FROM rollouts WHERE status = 'running' ORDER BY started_at, id").all().map((r) => r.id);
  }

  async claimRollout(id: string, holder: string, now: number, leaseMs: number): Promise<boolean> {
    // The condition is in the UPDATE: of two replicas claiming one expired lease, one wins.
    const result = this.db
      .prepare("UPDATE rollouts SET lease_holder = ?, lease_expires = ? WHERE id = ? AND status = 'running' AND (lease_holder IS NULL OR lease_holder = ? OR lease_expires <= ?)")
      .run(holder, now + leaseMs, id, holder, now);
    return result.changes > 0;
  }

  async saveRollout(id: string, holder: string, update: { status: RolloutStatus; state: unknown; updatedAt: number }): Promise<boolean> {
    const done = update.status !== 'running';
    const result = this.db
      .prepare(`UPDATE rollouts SET status = ?, state = ?, updated_at = ?${done ? ', lease_holder = NULL, lease_expires = NULL' : ''}
        WHERE id = ? AND lease_holder = ? AND status = 'running'`)
      .run(update.status, JSON.stringify(update.state), update.updatedAt, id, holder);
    return result.changes > 0;
  }

  async releaseRollout(id: string, holder: string): Promise<void> {
    this.db.prepare('UPDATE rollouts SET lease_holder = NULL, lease_expires = NULL WHERE id = ? AND lease_holder = ?').run(id, holder);
  }

  async requestRolloutAbort(id: string, by: string, at: number): Promise<'requested' | 'missing' | 'finished'> {
    this.db.prepare("UPDATE rollouts SET abort_by = ?, abort_at = ? WHERE id = ? AND status = 'running' AND abort_at IS NULL").run(by, at, id);
    const row = this.db.prepare<[string], { status: RolloutStatus }>('SELECT status FROM rollouts WHERE id = ?').get(id);
    return !row ? 'missing' : row.status === 'running' ? 'requested' : 'finished';
  }

  async close(): Promise<void> {
    if (this.db.open) this.db.close();
  }
}

function whereClause(filter: SampleFilter): { where: string[]; params: unknown[] } {
  const where: string[] = [];
  const params: unknown[] = [];
  if (filter.deviceId !== undefined) (where.push('device_id = ?'), params.push(filter.deviceId));
  if (filter.camera !== undefined) (where.push('camera = ?'), params.push(filter.camera));
  if (filter.since !== undefined) (where.push('captured_at >= ?'), params.push(filter.since));
  if (filter.until !== undefined) (where.push('captured_at < ?'), params.push(filter.until));
  if (filter.strategy !== undefined) (where.push('EXISTS (SELECT 1 FROM json_each(samples.reasons) WHERE value = ?)'), params.push(filter.strategy));
  if (filter.label !== undefined) {
    // The labels an export would write: reviewed ones where a person gave them.
    where.push("EXISTS (SELECT 1 FROM json_each(COALESCE(samples.reviewed, samples.detections)) WHERE json_extract(value, '$.label') = ?)");
    params.push(filter.label);
  }
  if (filter.reviewed !== undefined) where.push(filter.reviewed ? 'reviewed IS NOT NULL' : 'reviewed IS NULL');
  return { where, params };
}

function toSampleParams(s: SampleRecord): Record<string, unknown> {
  return {
    deviceId: s.deviceId,
    id: s.id,
    camera: s.camera,
    capturedAt: s.capturedAt,
    receivedAt: s.receivedAt,
    modelVersion: s.modelVersion,
    reasons: JSON.stringify(s.reasons),
    detections: JSON.stringify(s.detections),
    shadow: s.shadow ? JSON.stringify(s.shadow) : null,
    reviewed: s.reviewed ? JSON.stringify(s.reviewed.labels) : null,
    reviewedBy: s.reviewed?.by ?? null,
    reviewedAt: s.reviewed?.at ?? null,
    frameWidth: s.frameSize[0],
    frameHeight: s.frameSize[1],
    imageWidth: s.imageSize[0],
    imageHeight: s.imageSize[1],
    hash: s.hash ?? null,
    blobKey: s.blobKey,
    bytes: s.bytes,
  };
}


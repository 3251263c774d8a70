import Database from 'better-sqlite3';
import { mkdirSync, readdirSync, rmSync } from 'node:fs';
import { open, readFile, rename, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { KestrelError, type Logger } from '@kestrel/core';
import type { BufferedSample, KeptSample, SampleReason, UploadState } from './types.js';

export interface SampleBufferOptions {
  /** Folder for index.sqlite, images/ and tmp/. */
  dir: string;
  /** JPEG bytes kept at most; the oldest samples go first. */
  maxBytes: number;
  /** Samples older than this (by capture time) go. */
  maxAgeMs: number;
}

/** What the start-up repair found and removed. */
export interface RepairReport {
  /** JPEGs without an index row (a crash between rename and insert, or between delete and unlink). */
  orphanFiles: number;
  /** Index rows whose JPEG is gone. */
  orphanRows: number;
  /** Half-written files of an interrupted write. */
  tmpFiles: number;
}

export interface BufferStats {
  samples: number;
  bytes: number;
  pending: number;
  /** Refused by the hub for good (kept for inspection until age or budget removes them). */
  rejected: number;
  /** Removed to stay within the limits, since start. */
  evicted: { budget: number; age: number };
  repaired: RepairReport;
}

interface Row {
  id: string;
  camera: string;
  captured_at: number;
  model_version: string;
  reasons: string;
  detections: string;
  shadow: string | null;
  frame_width: number;
  frame_height: number;
  image_width: number;
  image_height: number;
  hash: string;
  bytes: number;
  state: UploadState;
  attempts: number;
  last_error: string | null;
}

const JPEG = '.jpg';

/**
 * The device's sample store: one JPEG file per sample and a SQLite index (WAL) describing it.
 *
 * The two never disagree for long: a JPEG is written to tmp/, fsynced and renamed into images/
 * before its row is inserted, and a row is deleted before its file is unlinked; so a crash can
 * only leave a file without a row (or a tmp file), and open() removes those — and rows whose
 * file vanished — before anything reads the buffer.
 */
export class SampleBuffer {
  private db?: Database.Database;
  private stmts?: ReturnType<SampleBuffer['prepare']>;
  private count = 0;
  private totalBytes = 0;
  private rejectedCount = 0;
  readonly evicted = { budget: 0, age: 0 };
  private repairReport: RepairReport = { orphanFiles: 0, orphanRows: 0, tmpFiles: 0 };

  constructor(
    private readonly options: SampleBufferOptions,
    private readonly logger: Logger,
  ) {}

  get imagesDir(): string {
    return join(this.options.dir, 'images');
  }

  private get tmpDir(): string {
    return join(this.options.dir, 'tmp');
  }

  /** Opens (creating) the buffer and repairs what a crash left behind. */
  open(): RepairReport {
    try {
      mkdirSync(this.imagesDir, { recursive: true });
      mkdirSync(this.tmpDir, { recursive: true });
      this.db = new Database(join(this.options.dir, 'index.sqlite'));
    } catch (err) {
      throw new KestrelError('E_STATE_DIR', `cannot open the sample buffer in ${this.options.dir}: ${(err as Error).message}`);
    }
    this.db.pragma('journal_mode = WAL');
    // NORMAL: a power cut may lose the last inserts; their files are then orphans the repair removes.
    this.db.pragma('synchronous = NORMAL');
    this.db.exec(`CREATE TABLE IF NOT EXISTS samples (
      id TEXT PRIMARY KEY,
      camera TEXT NOT NULL,
      captured_at INTEGER NOT NULL,
      model_version TEXT NOT NULL,
      reasons TEXT NOT NULL,
      detections TEXT NOT NULL,
      shadow TEXT,
      frame_width INTEGER NOT NULL,
      frame_height INTEGER NOT NULL,
      image_width INTEGER NOT NULL,
      image_height INTEGER NOT NULL,
      hash TEXT NOT NULL,
      bytes INTEGER NOT NULL,
      state TEXT NOT NULL DEFAULT 'pending',
      attempts INTEGER NOT NULL DEFAULT 0,
      last_error TEXT,
      stored_at INTEGER NOT NULL
    );
    CREATE INDEX IF NOT EXISTS samples_by_age ON samples (captured_at, id);
    CREATE INDEX IF NOT EXISTS samples_by_state ON samples (state, captured_at, id);`);
    this.stmts = this.prepare(this.db);
    this.repairReport = this.repair();
    this.refreshTotals();
    const r = this.repairReport;
    if (r.orphanFiles || r.orphanRows || r.tmpFiles) this.logger.warn({ ...r }, 'sample buffer repaired after an unclean stop');
    if (this.count) this.logger.info({ samples: this.count, bytes: this.totalBytes }, 'sample buffer has samples from before the restart');
    return this.repairReport;
  }

  private prepare(db: Database.Database) {
    return {
      insert: db.prepare(`INSERT INTO samples (id, camera, captured_at, model_version, reasons, detections, shadow, frame_width, frame_height,
        image_width, image_height, hash, bytes, stored_at) VALUES (@id, @camera, @capturedAt, @modelVersion, @reasons, @detections, @shadow,
        @frameWidth, @frameHeight, @imageWidth, @imageHeight, @hash, @bytes, @storedAt)`),
      ids: db.prepare<[], { id: string }>('SELECT id FROM samples'),
      get: db.prepare<[string], Row>('SELECT * FROM samples WHERE id = ?'),
      pending: db.prepare<[number], Row>("SELECT * FROM samples WHERE state = 'pending' ORDER BY captured_at, id LIMIT ?"),
      oldest: db.prepare<[], { id: string; bytes: number; state: UploadState }>('SELECT id, bytes, state FROM samples ORDER BY captured_at, id'),
      expired: db.prepare<[number], { id: string; bytes: number; state: UploadState }>('SELECT id, bytes, state FROM samples WHERE captured_at < ?'),
      del: db.prepare<[string], { bytes: number; state: UploadState }>('DELETE FROM samples WHERE id = ? RETURNING bytes, state'),
      reject: db.prepare<[string, string]>("UPDATE samples SET state = 'rejected', last_error = ? WHERE id = ? AND state = 'pending'"),
      attempt: db.prepare<[string | null, string]>('UPDATE samples SET attempts = attempts + 1, last_error = ? WHERE id = ?'),
      totals: db.prepare<[], { n: number; bytes: number | null; rejected: number | null }>(
        "SELECT count(*) AS n, sum(bytes) AS bytes, sum(state = 'rejected') AS rejected FROM samples",
      ),
    };
  }

  /** Files without rows and rows without files both go; tmp/ is emptied. */
  private repair(): RepairReport {
    const s = this.requireOpen();
    const report: RepairReport = { orphanFiles: 0, orphanRows: 0, tmpFiles: 0 };
    for (const name of readdirSync(this.tmpDir)) {
      rmSync(join(this.tmpDir, name), { force: true, recursive: true });
      report.tmpFiles++;
    }
    const files = new Set(readdirSync(this.imagesDir));
    const rows = new Set(s.ids.all().map((r) => r.id));
    const removeRows = this.db!.transaction((ids: string[]) => ids.forEach((id) => s.del.run(id)));
    const missing = [...rows].filter((id) => !files.has(id + JPEG));
    removeRows(missing);
    report.orphanRows = missing.length;
    for (const name of files) {
      if (name.endsWith(JPEG) && rows.has(name.slice(0, -JPEG.length))) continue;
      rmSync(join(this.imagesDir, name), { force: true, recursive: true });
      report.orphanFiles++;
    }
    return report;
  }

  /**
   * Stores a sample durably: JPEG to tmp/, fsync, rename into images/, fsync the folder, then the
   * index row. Then the limits are enforced (which may remove the oldest samples, even this one).
   */
  async add(record: Omit<KeptSample, 'bytes'>, jpeg: Buffer, now = Date.now()): Promise<void> {
    this.requireOpen();
    if (!/^[A-Za-z0-9_.-]{1,128}$/.test(record.id) || record.id.startsWith('.')) throw new Error(`sample id "${record.id}" is not usable as a file name`);
    const tmp = join(this.tmpDir, record.id + JPEG);
    const final = join(this.imagesDir, record.id + JPEG);
    const file = await open(tmp, 'w');
    try {
      await file.writeFile(jpeg);
      await file.sync();
    } finally {
      await file.close();
    }
    await rename(tmp, final);
    await syncFolder(this.imagesDir);
    // The buffer may have been closed while the file was written (shutdown): leave the file as
    // an orphan for the next start's repair instead of writing to a closed index.
    if (!this.stmts) {
      await unlink(final).catch(() => undefined);
      return;
    }
    this.stmts.insert.run({
      id: record.id,
      camera: record.camera,
      capturedAt: record.capturedAt,
      modelVersion: record.modelVersion,
      reasons: JSON.stringify(record.reasons),
      detections: JSON.stringify(record.detections),
      shadow: record.shadow ? JSON.stringify(record.shadow) : null,
      frameWidth: record.frameSize[0],
      frameHeight: record.frameSize[1],
      imageWidth: record.imageSize[0],
      imageHeight: record.imageSize[1],
      hash: record.hash,
      bytes: jpeg.length,
      storedAt: now,
    });
    this.count++;
    this.totalBytes += jpeg.length;
    this.enforce(now);
  }

  /** Samples waiting for upload, oldest first. */
  pending(limit: number): BufferedSample[] {
    return this.requireOpen().pending.all(limit).map(fromRow);
  }

  get(id: string): BufferedSample | undefined {
    const row = this.requireOpen().get.get(id);
    return row ? fromRow(row) : undefined;
  }

  /** The sample's JPEG, or undefined when the sample is gone (evicted meanwhile). */
  async readImage(id: string): Promise<Buffer | undefined> {
    try {
      return await readFile(join(this.imagesDir, id + JPEG));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
  }

  /** Removes a sample (the hub confirmed it): the row first, then the file. False when it was already gone. */
  remove(id: string): boolean {
    const gone = this.requireOpen().del.get(id);
    if (!gone) return false;
    this.forget(gone);
    rmSync(join(this.imagesDir, id + JPEG), { force: true });
    return true;
  }

  /** The hub refused this sample for good: it is not sent again. */
  markRejected(id: string, reason: string): void {
    if (this.requireOpen().reject.run(reason.slice(0, 500), id).changes > 0) this.rejectedCount++;
  }

  /** One more upload attempt of these samples, and how it failed (null: no error). */
  markAttempt(ids: readonly string[], error: string | null): void {
    const s = this.requireOpen();
    this.db!.transaction(() => ids.forEach((id) => s.attempt.run(error?.slice(0, 500) ?? null, id)))();
  }

  /** Drops samples past the maximum age, then the oldest until the bytes fit the budget. */
  enforce(now = Date.now()): void {
    const s = this.requireOpen();
    const expired = s.expired.all(now - this.options.maxAgeMs);
    if (expired.length) {
      this.drop(expired.map((r) => r.id));
      this.evicted.age += expired.length;
      this.logger.warn({ dropped: expired.length, reason: 'age' }, 'sample buffer dropped expired samples');
    }
    if (this.totalBytes <= this.options.maxBytes) return;
    const victims: string[] = [];
    let bytes = this.totalBytes;
    for (const row of s.oldest.iterate()) {
      if (bytes <= this.options.maxBytes) break;
      victims.push(row.id);
      bytes -= row.bytes;
    }
    this.drop(victims);
    this.evicted.budget += victims.length;
    this.logger.warn({ dropped: victims.length, bytes: this.totalBytes, maxBytes: this.options.maxBytes }, 'sample buffer full: dropped the oldest samples');
  }

  private drop(ids: string[]): void {
    const s = this.requireOpen();
    const deleted = this.db!.transaction(() => ids.map((id) => s.del.get(id)).filter((r) => r !== undefined))();
    deleted.forEach((r) => this.forget(r));
    for (const id of ids) rmSync(join(this.imagesDir, id + JPEG), { force: true });
  }

  private forget(row: { bytes: number; state: UploadState }): void {
    this.count--;
    this.totalBytes -= row.bytes;
    if (row.state === 'rejected') this.rejectedCount--;
  }

  private refreshTotals(): void {
    const t = this.requireOpen().totals.get()!;
    this.count = t.n;
    this.totalBytes = t.bytes ?? 0;
    this.rejectedCount = t.rejected ?? 0;
  }

  stats(): BufferStats {
    return {
      samples: this.count,
      bytes: this.totalBytes,
      pending: this.count - this.rejectedCount,
      rejected: this.rejectedCount,
      evicted: { ...this.evicted },
      repaired: { ...this.repairReport },
    };
  }

  close(): void {
    this.db?.close();
    this.db = undefined;
    this.stmts = undefined;
  }

  private requireOpen(): NonNullable<SampleBuffer['stmts']> {
    if (!this.stmts) throw new Error('sample buffer is not open');
    return this.stmts;
  }
}

function fromRow(row: Row): BufferedSample {
  return {
    id: row.id,
    camera: row.camera,
    capturedAt: row.captured_at,
    modelVersion: row.model_version,
    reasons: JSON.parse(row.reasons) as SampleReason[],
    detections: JSON.parse(row.detections) as KeptSample['detections'],
    ...(row.shadow ? { shadow: JSON.parse(row.shadow) as NonNullable<KeptSample['shadow']> } : {}),
    frameSize: [row.frame_width, row.frame_height],
    imageSize: [row.image_width, row.image_height],
    hash: row.hash,
    bytes: row.bytes,
    state: row.state,
    attempts: row.attempts,
    ...(row.last_error ? { lastError: row.last_error } : {}),
  };
}

/** Makes a rename inside `dir` durable (the directory entry itself is data). */
async function syncFolder(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

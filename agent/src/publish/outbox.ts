import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { KestrelError, type Logger } from '@kestrel/core';

export interface OutboxLimits {
  /** Most events kept while the broker is away; the oldest are dropped first. */
  maxEvents: number;
  /** Most payload bytes kept. */
  maxBytes: number;
  /** Events older than this are dropped (a week-old "person at the door" helps nobody). */
  maxAgeMs: number;
}

export interface OutboxRow {
  seq: number;
  topic: string;
  payload: Buffer;
  createdAt: number;
}

export interface OutboxStats {
  depth: number;
  bytes: number;
  /** Dropped to stay within the limits, since start. */
  droppedEvents: number;
  droppedByReason: { count: number; bytes: number; age: number };
}

/**
 * A durable queue between event production and MQTT (SQLite, WAL). An event is written here
 * before it is published and deleted only when the broker acknowledged it (QoS 1 PUBACK), so a
 * broker outage or a kill -9 loses nothing that was accepted. Delivery is at-least-once; events
 * carry stable ids for consumers to de-duplicate.
 *
 * Acknowledged events are deleted together, in one transaction per turn of the event loop: each
 * commit is an fsync, and after an outage the backlog (up to `maxEvents`) drains at the broker's
 * pace, 32 PUBACKs at a time. One fsync per PUBACK would hold the event loop, and with it the
 * cameras, for the whole drain on an SD card (5–20 ms an fsync). An event whose PUBACK came just
 * before a crash may be published again: at-least-once already allows that.
 */
export class Outbox {
  private db?: Database.Database;
  private stmts?: {
    insert: Database.Statement<[string, Buffer, number]>;
    after: Database.Statement<[number, number], { seq: number; topic: string; payload: Buffer; created_at: number }>;
    totals: Database.Statement<[], { n: number; bytes: number | null }>;
    dropOldest: Database.Statement<[number], { n: number; bytes: number | null }>;
    deleteOldest: Database.Statement<[number]>;
    expired: Database.Statement<[number], { n: number; bytes: number | null }>;
    deleteExpired: Database.Statement<[number]>;
    /** Deletes the given events (seq → payload bytes); returns the count and bytes of those still there. */
    deleteAcked: (acked: ReadonlyMap<number, number>) => { n: number; bytes: number };
  };
  private depthCache = 0;
  private bytesCache = 0;
  /** Acknowledged, not yet deleted: the next flush deletes them in one transaction. */
  private acked = new Map<number, number>();
  private flushScheduled?: NodeJS.Immediate;
  readonly dropped = { count: 0, bytes: 0, age: 0 };

  constructor(
    private readonly path: string,
    private readonly limits: OutboxLimits,
    private readonly logger: Logger,
  ) {}

  open(): void {
    try {
      if (this.path !== ':memory:') mkdirSync(dirname(this.path), { recursive: true });
      this.db = new Database(this.path);
    } catch (err) {
      throw new KestrelError('E_STATE_DIR', `cannot open the event outbox at ${this.path}: ${(err as Error).message}`);
    }
    const db = this.db;
    db.pragma('journal_mode = WAL');
    // FULL: an accepted event survives power loss too; events are rare enough for the fsync.
    db.pragma('synchronous = FULL');
    db.exec(`CREATE TABLE IF NOT EXISTS outbox (
      seq INTEGER PRIMARY KEY AUTOINCREMENT,
      topic TEXT NOT NULL,
      payload BLOB NOT NULL,
      created_at INTEGER NOT NULL
    )`);
    // Expiry is checked on every add: without an index that is a scan of the whole backlog.
    db.exec('CREATE INDEX IF NOT EXISTS outbox_created_at ON outbox (created_at)');
    const del = db.prepare<[number]>('DELETE FROM outbox WHERE seq = ?');
    this.stmts = {
      insert: db.prepare('INSERT INTO outbox (topic, payload, created_at) VALUES (?, ?, ?)'),
      after: db.prepare('SELECT seq, topic, payload, created_at FROM outbox WHERE seq > ? ORDER BY seq LIMIT ?'),
      totals: db.prepare('SELECT count(*) AS n, sum(length(payload)) AS bytes FROM outbox'),
      dropOldest: db.prepare('SELECT count(*) AS n, sum(length(payload)) AS bytes FROM (SELECT payload FROM outbox ORDER BY seq LIMIT ?)'),
      deleteOldest: db.prepare('DELETE FROM outbox WHERE seq IN (SELECT seq FROM outbox ORDER BY seq LIMIT ?)'),
      expired: db.prepare('SELECT count(*) AS n, sum(length(payload)) AS bytes FROM outbox WHERE created_at < ?'),
      deleteExpired: db.prepare('DELETE FROM outbox WHERE created_at < ?'),
      deleteAcked: db.transaction((acked: ReadonlyMap<number, number>) => {
        let n = 0;
        let bytes = 0;
        // An event the limits dropped while it was in flight is gone already and counted as dropped.
        for (const [seq, size] of acked) {
          if (del.run(seq).changes === 0) continue;
          n++;
          bytes += size;
        }
        return { n, bytes };
      }),
    };
    const t = this.stmts.totals.get()!;
    this.depthCache = t.n;
    this.bytesCache = t.bytes ?? 0;
    if (this.depthCache > 0) this.logger.info({ depth: this.depthCache }, 'outbox has events from before the restart; they will be published');
  }

  /** Stores an event; returns its sequence number. Enforces the limits by dropping the oldest. */
  add(topic: string, payload: Buffer, now = Date.now()): number {
    const s = this.requireOpen();
    const seq = Number(s.insert.run(topic, payload, now).lastInsertRowid);
    this.depthCache++;
    this.bytesCache += payload.length;
    this.enforce(now);
    return seq;
  }

  /** Events after `seq`, oldest first; never one already acknowledged. */
  after(seq: number, limit: number): OutboxRow[] {
    const s = this.requireOpen();
    this.flushAcks();
    return s
      .after.all(seq, limit)
      .map((r) => ({ seq: r.seq, topic: r.topic, payload: r.payload, createdAt: r.created_at }));
  }

  /**
   * The broker acknowledged this event. It is deleted with the other acknowledgements of this
   * turn of the event loop (see the class comment), and leaves the depth then.
   */
  ack(seq: number, bytes: number): void {
    this.requireOpen();
    this.acked.set(seq, bytes);
    this.flushScheduled ??= setImmediate(() => this.flushAcks());
  }

  /** Deletes the acknowledged events now, in one transaction. */
  flushAcks(): void {
    if (this.flushScheduled) clearImmediate(this.flushScheduled);
    this.flushScheduled = undefined;
    if (this.acked.size === 0 || !this.stmts) return;
    const acked = this.acked;
    this.acked = new Map();
    const gone = this.stmts.deleteAcked(acked);
    this.depthCache -= gone.n;
    this.bytesCache -= gone.bytes;
  }

  get depth(): number {
    return this.depthCache;
  }

  stats(): OutboxStats {
    return { depth: this.depthCache, bytes: this.bytesCache, droppedEvents: this.dropped.count + this.dropped.age, droppedByReason: { ...this.dropped } };
  }

  enforce(now = Date.now()): void {
    const s = this.requireOpen();
    // The drop queries count rows: acknowledged ones must be gone first.
    this.flushAcks();
    const expired = s.expired.get(now - this.limits.maxAgeMs)!;
    if (expired.n > 0) {
      s.deleteExpired.run(now - this.limits.maxAgeMs);
      this.dropped.age += expired.n;
      this.depthCache -= expired.n;
      this.bytesCache -= expired.bytes ?? 0;
      this.logger.warn({ dropped: expired.n, reason: 'age' }, 'outbox dropped expired events');
    }
    let over = Math.max(0, this.depthCache - this.limits.maxEvents);
    if (over === 0 && this.bytesCache > this.limits.maxBytes) over = Math.max(1, Math.ceil(this.depthCache / 100));
    while (over > 0) {
      const gone = s.dropOldest.get(over)!;
      s.deleteOldest.run(over);
      this.dropped.count += gone.n;
      this.dropped.bytes += gone.bytes ?? 0;
      this.depthCache -= gone.n;
      this.bytesCache -= gone.bytes ?? 0;
      this.logger.warn({ dropped: gone.n, depth: this.depthCache }, 'outbox full: dropped the oldest events');
      over = this.bytesCache > this.limits.maxBytes && this.depthCache > 0 ? Math.max(1, Math.ceil(this.depthCache / 100)) : 0;
    }
  }

  close(): void {
    if (!this.db) return;
    this.flushAcks();
    this.db.close();
    this.db = undefined;
    this.stmts = undefined;
  }

  private requireOpen(): NonNullable<Outbox['stmts']> {
    if (!this.stmts) throw new Error('outbox is not open');
    return this.stmts;
  }
}

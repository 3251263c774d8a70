// The sample buffer: JPEG files plus a SQLite index that never disagree after a crash, capped
// by a disk budget and an age (the oldest go first, counted).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { SampleBuffer } from '@kestrel/agent/sampling/index';
import { quietLogger } from './support/frames.js';

const at = Date.UTC(2025, 0, 1);
const HOUR = 3_600_000;

function record(id: string, capturedAt: number) {
  return {
    id,
    camera: 'door',
    capturedAt,
    modelVersion: 'v1',
    reasons: ['uncertainty' as const],
    detections: [{ label: 'person', score: 0.5, box: [1, 2, 3, 4] as [number, number, number, number] }],
    frameSize: [1280, 720] as [number, number],
    imageSize: [416, 234] as [number, number],
    hash: '0123456789abcdef',
  };
}

/** Not a real JPEG: the buffer stores bytes; the hub is where images are checked. */
const jpeg = (bytes: number) => Buffer.alloc(bytes, 0xab);

function openBuffer(dir: string, limits: { maxBytes?: number; maxAgeMs?: number } = {}): SampleBuffer {
  const buffer = new SampleBuffer({ dir, maxBytes: limits.maxBytes ?? 1e9, maxAgeMs: limits.maxAgeMs ?? 100 * HOUR }, quietLogger);
  buffer.open();
  return buffer;
}

function filesIn(dir: string): string[] {
  return readdirSync(join(dir, 'images')).sort();
}

test('filling past the byte budget drops the oldest samples first and reports how many', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'kestrel-buffer-'));
  const buffer = openBuffer(dir, { maxBytes: 10_000 });
  try {
    // Ten samples of 1500 bytes; inserted out of capture order to show that age, not arrival, decides.
    const times = [5, 1, 9, 3, 7, 0, 2, 8, 4, 6];
    for (const t of times) await buffer.add(record(`s${t}`, at + t * 1000), jpeg(1500), at + 10_000);
    const stats = buffer.stats();
    assert.equal(stats.samples, 6, '6 × 1500 = 9000 fits, 7 would not');
    assert.equal(stats.bytes, 9000);
    assert.equal(stats.evicted.budget, 4);
    assert.deepEqual(filesIn(dir), ['s4.jpg', 's5.jpg', 's6.jpg', 's7.jpg', 's8.jpg', 's9.jpg'], 'the four oldest by capture time went, files and rows alike');
    assert.deepEqual(buffer.pending(100).map((s) => s.id), ['s4', 's5', 's6', 's7', 's8', 's9'], 'pending is oldest first');
  } finally {
    buffer.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('samples older than the maximum age are dropped and counted', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'kestrel-buffer-'));
  const buffer = openBuffer(dir, { maxAgeMs: 2 * HOUR });
  try {
    await buffer.add(record('old', at), jpeg(100), at);
    await buffer.add(record('new', at + HOUR), jpeg(100), at + HOUR);
    buffer.enforce(at + 2.5 * HOUR);
    assert.deepEqual(buffer.pending(10).map((s) => s.id), ['new']);
    assert.equal(buffer.stats().evicted.age, 1);
    assert.deepEqual(filesIn(dir), ['new.jpg']);
  } finally {
    buffer.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a sample survives a restart with everything the index holds, and leaves only when removed', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'kestrel-buffer-'));
  let buffer = openBuffer(dir);
  const r = { ...record('keep', at), reasons: ['uncertainty' as const, 'rareClass' as const], shadow: { modelVersion: 's1', detections: [] } };
  await buffer.add(r, jpeg(321), at);
  buffer.close();
  buffer = openBuffer(dir);
  try {
    const [back] = buffer.pending(10);
    assert.deepEqual(back, { ...r, bytes: 321, state: 'pending', attempts: 0 });
    assert.deepEqual(await buffer.readImage('keep'), jpeg(321));
    buffer.markAttempt(['keep'], 'hub away');
    assert.equal(buffer.get('keep')?.attempts, 1);
    assert.equal(buffer.get('keep')?.lastError, 'hub away');
    buffer.markRejected('keep', 'corrupt');
    assert.deepEqual(buffer.pending(10), [], 'a rejected sample is not sent again');
    assert.equal(buffer.stats().rejected, 1);
    assert.equal(buffer.remove('keep'), true);
    assert.equal(buffer.remove('keep'), false);
    assert.deepEqual(filesIn(dir), []);
    assert.deepEqual(buffer.stats(), { samples: 0, bytes: 0, pending: 0, rejected: 0, evicted: { budget: 0, age: 0 }, repaired: { orphanFiles: 0, orphanRows: 0, tmpFiles: 0 } });
  } finally {
    buffer.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('on start the buffer repairs what a crash left: files without rows, rows without files, half-written files', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'kestrel-buffer-'));
  let buffer = openBuffer(dir);
  for (const id of ['a', 'b', 'c']) await buffer.add(record(id, at), jpeg(200), at);
  buffer.close();
  // A crash after the rename, before the insert: a JPEG no row knows.
  writeFileSync(join(dir, 'images', 'orphan.jpg'), jpeg(200));
  // A file lost under a row (disk trouble, a person cleaning up).
  rmSync(join(dir, 'images', 'b.jpg'));
  // A crash while writing: the tmp file.
  writeFileSync(join(dir, 'tmp', 'half.jpg'), jpeg(50));
  // And a row inserted behind the buffer's back, without its file.
  const db = new Database(join(dir, 'index.sqlite'));
  db.prepare("INSERT INTO samples (id, camera, captured_at, model_version, reasons, detections, frame_width, frame_height, image_width, image_height, hash, bytes, stored_at) VALUES ('ghost', 'door', 1, 'v1', '[]', '[]', 1, 1, 1, 1, '0', 10, 1)").run();
  db.close();

  buffer = openBuffer(dir);
  try {
    assert.deepEqual(buffer.stats().repaired, { orphanFiles: 1, orphanRows: 2, tmpFiles: 1 });
    assert.deepEqual(filesIn(dir), ['a.jpg', 'c.jpg']);
    assert.deepEqual(buffer.pending(10).map((s) => s.id), ['a', 'c']);
    assert.deepEqual(readdirSync(join(dir, 'tmp')), []);
    assert.equal(buffer.stats().bytes, 400, 'totals are the repaired ones');
  } finally {
    buffer.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

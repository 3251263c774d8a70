// The event outbox: nothing accepted is lost before its PUBACK, acknowledged events are deleted
// together (one commit, so one fsync, per turn of the event loop), and the limits drop the oldest
// or expired events, counted once.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setImmediate as nextTurn } from 'node:timers/promises';
import Database from 'better-sqlite3';
import { silentLogger } from '@kestrel/core';
import { Outbox, type OutboxLimits } from '@kestrel/agent/publish/outbox';

const roomy: OutboxLimits = { maxEvents: 1000, maxBytes: 2 ** 20, maxAgeMs: 3600_000 };

function openOutbox(limits = roomy, path = join(mkdtempSync(join(tmpdir(), 'kestrel-outbox-')), 'outbox.sqlite')): { outbox: Outbox; path: string } {
  const outbox = new Outbox(path, limits, silentLogger);
  outbox.open();
  return { outbox, path };
}

const event = (i: number) => Buffer.from(JSON.stringify({ schema: 1, id: `t${i}:new:${i}` }));

test('acknowledged events leave in one commit per turn of the event loop; the rest survive a restart', async () => {
  const { outbox, path } = openOutbox();
  const seqs = Array.from({ length: 40 }, (_, i) => outbox.add('kestrel/d/c/events', event(i)));
  // A second connection sees data_version move once per commit made by the outbox's connection.
  const watcher = new Database(path, { readonly: true });
  const version = () => watcher.pragma('data_version', { simple: true }) as number;
  const before = version();
  for (const seq of seqs.slice(0, 32)) outbox.ack(seq, event(0).length);
  await nextTurn();
  assert.equal(version() - before, 1, '32 PUBACKs, one commit');
  assert.equal(outbox.depth, 8);
  outbox.close();
  watcher.close();

  const { outbox: again } = openOutbox(roomy, path);
  assert.deepEqual(again.after(0, 100).map((r) => r.seq), seqs.slice(32), 'the unacknowledged eight are published after the restart');
  again.close();
});

test('an acknowledged event is never read again, even before its delete is written', () => {
  const { outbox } = openOutbox();
  const [a, b, c] = [0, 1, 2].map((i) => outbox.add('t', event(i)));
  outbox.ack(b, event(1).length);
  // A reconnect starts again from the oldest event (cursor 0) within the same turn.
  assert.deepEqual(outbox.after(0, 10).map((r) => r.seq), [a, c]);
  assert.equal(outbox.depth, 2);
  outbox.close();
});

test('closing writes the acknowledgements of the last turn', () => {
  const { outbox, path } = openOutbox();
  const [a, b] = [0, 1].map((i) => outbox.add('t', event(i)));
  outbox.ack(a, event(0).length);
  outbox.close();
  const { outbox: again } = openOutbox(roomy, path);
  assert.deepEqual(again.after(0, 10).map((r) => r.seq), [b]);
  again.close();
});

test('a full outbox drops the oldest, an old event expires, and a dropped event acknowledged late is not counted twice', async () => {
  const { outbox } = openOutbox({ maxEvents: 3, maxBytes: 2 ** 20, maxAgeMs: 1000 });
  const seqs = [0, 1, 2, 3, 4].map((i) => outbox.add('t', event(i), 10_000));
  assert.equal(outbox.depth, 3);
  assert.equal(outbox.stats().droppedByReason.count, 2);
  assert.deepEqual(outbox.after(0, 10).map((r) => r.seq), seqs.slice(2));
  // The first event was in flight when it was dropped; its PUBACK arrives now.
  outbox.ack(seqs[0], event(0).length);
  await nextTurn();
  assert.equal(outbox.depth, 3, 'already gone, already counted');
  // Two seconds later the three left are older than the 1 s limit.
  outbox.add('t', event(5), 12_000);
  assert.equal(outbox.stats().droppedByReason.age, 3);
  assert.equal(outbox.depth, 1);
  outbox.close();
});

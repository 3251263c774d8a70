import { test } from 'node:test';
import assert from 'node:assert/strict';
import { letterboxGeometry } from '@kestrel/core/image/letterbox';
import { FrameScheduler } from '@kestrel/agent/schedule/scheduler';
import { LatestFrameSlot } from '@kestrel/agent/schedule/latest-slot';
import type { Frame } from '@kestrel/agent/source/types';

const geometry = letterboxGeometry(8, 8, 8, 8);
function frame(camera: string, seq: number): Frame {
  return { camera, seq, data: new Uint8Array(8 * 8 * 3), width: 8, height: 8, geometry, capturedAt: 1000 + seq };
}

test('latest frame wins: an unread frame is replaced and counted as dropped', () => {
  const slot = new LatestFrameSlot();
  assert.equal(slot.put(frame('a', 0)), undefined);
  assert.equal(slot.put(frame('a', 1))?.seq, 0, 'put returns the frame it replaced');
  slot.put(frame('a', 2));
  assert.equal(slot.take()?.seq, 2, 'the newest frame is the one taken');
  assert.equal(slot.take(), undefined);
  slot.put(frame('a', 3));
  assert.deepEqual(slot.stats(), { received: 4, dropped: 2, taken: 1, pending: true });
  slot.clear();
  assert.deepEqual(slot.stats(), { received: 4, dropped: 3, taken: 1, pending: false });
});

test('round robin: every camera with a frame gets a turn before any camera gets a second', () => {
  const s = new FrameScheduler();
  // A busy camera pushes many frames between turns; slow ones push once.
  let busySeq = 0;
  s.push(frame('slow1', 0));
  s.push(frame('busy', busySeq++));
  s.push(frame('slow2', 0));
  const served: string[] = [];
  for (let turn = 0; turn < 9; turn++) {
    for (let k = 0; k < 5; k++) s.push(frame('busy', busySeq++));
    if (turn % 3 === 2) {
      s.push(frame('slow1', turn));
      s.push(frame('slow2', turn));
    }
    const f = s.next();
    assert.ok(f);
    served.push(f.camera);
  }
  // Slow cameras push a new frame every third turn; each is still served in its turn, in order.
  assert.deepEqual(served, ['slow1', 'busy', 'slow2', 'slow1', 'busy', 'slow2', 'slow1', 'busy', 'slow2']);
  const stats = s.stats();
  assert.equal(stats.busy.taken, 3);
  assert.equal(stats.busy.received, busySeq);
  assert.equal(stats.busy.dropped + stats.busy.taken + (stats.busy.pending ? 1 : 0), stats.busy.received, 'every frame is either taken, dropped or pending');
});

test('a busy camera cannot starve another: over a long run each gets about half the turns', () => {
  const s = new FrameScheduler();
  const served = { fast: 0, slow: 0 };
  for (let i = 0; i < 300; i++) {
    for (let k = 0; k < 6; k++) s.push(frame('fast', i * 6 + k));
    if (i % 2 === 0) s.push(frame('slow', i)); // slow camera: a frame every other turn
    const f = s.next();
    if (f) served[f.camera as 'fast' | 'slow']++;
  }
  assert.equal(served.slow, 150, 'every slow frame is served');
  assert.equal(served.fast, 150);
});

test('wait() resolves when a frame arrives, and with undefined on close or abort', async () => {
  const s = new FrameScheduler();
  const waiting = s.wait();
  s.push(frame('a', 7));
  assert.equal((await waiting)?.seq, 7);
  assert.equal(s.stats().a.taken, 1);

  const ac = new AbortController();
  const aborted = s.wait(ac.signal);
  ac.abort();
  assert.equal(await aborted, undefined);
  s.push(frame('a', 8));
  assert.equal(s.next()?.seq, 8, 'an aborted waiter does not swallow a frame');

  const closing = s.wait();
  s.close();
  assert.equal(await closing, undefined);
  s.push(frame('a', 9));
  assert.equal(s.next(), undefined, 'a closed scheduler takes no more frames');
});

test('removeCamera drops its pending frame and its turn', () => {
  const s = new FrameScheduler();
  s.push(frame('a', 0));
  s.push(frame('b', 0));
  s.removeCamera('a');
  assert.equal(s.pendingCount, 1);
  assert.equal(s.next()?.camera, 'b');
  assert.equal(s.next(), undefined);
  assert.equal(s.stats().a, undefined);
});

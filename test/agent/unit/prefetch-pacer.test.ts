import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PrefetchPacer } from '@kestrel/agent/inference/prefetch-pacer';

test('no estimate before the first answer: only the answer sends the next frame', () => {
  const pacer = new PrefetchPacer({ leadMs: 3, now: () => 0 });
  assert.equal(pacer.prefetchInMs(), undefined, 'nothing runs');
  pacer.started(0);
  assert.equal(pacer.prefetchInMs(10), undefined, 'running, but no service time known yet');
});

test('the next frame is due leadMs before the running one is expected to end', () => {
  const pacer = new PrefetchPacer({ leadMs: 3, alpha: 1 });
  pacer.started(1000);
  pacer.finished(1024);
  assert.equal(pacer.estimateMs, 24);
  pacer.started(1030);
  assert.equal(pacer.prefetchInMs(1030), 21, '1030 + 24 - 3 = 1051');
  assert.equal(pacer.prefetchInMs(1050), 1);
  assert.equal(pacer.prefetchInMs(1060), 0, 'overdue: now');
  pacer.finished(1055);
  assert.equal(pacer.prefetchInMs(1056), undefined, 'nothing runs after the answer');
});

test('the estimate is a moving average, so one slow frame does not send the next ones far too late', () => {
  const pacer = new PrefetchPacer({ alpha: 0.2 });
  let t = 0;
  for (let i = 0; i < 20; i++) {
    pacer.started(t);
    t += 20;
    pacer.finished(t);
  }
  assert.ok(Math.abs(pacer.estimateMs! - 20) < 1e-9);
  pacer.started(t);
  pacer.finished(t + 120);
  assert.ok(Math.abs(pacer.estimateMs! - 40) < 1e-9, `one 120 ms frame moves the estimate to 40, got ${pacer.estimateMs}`);
});

test('a worker restart forgets the running frame without counting its time', () => {
  const pacer = new PrefetchPacer({ alpha: 1 });
  pacer.started(0);
  pacer.finished(20);
  pacer.started(100);
  pacer.reset();
  assert.equal(pacer.prefetchInMs(101), undefined);
  pacer.finished(30_000);
  assert.equal(pacer.estimateMs, 20, 'a finish without a start is ignored');
});

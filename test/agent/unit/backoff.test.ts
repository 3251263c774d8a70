import { test } from 'node:test';
import assert from 'node:assert/strict';
import { backoffDelay, DEFAULT_BACKOFF } from '@kestrel/agent/source/backoff';

test('backoff grows exponentially, is capped, and jitter keeps it within [raw × (1 − jitter), raw]', () => {
  const options = { minMs: 100, maxMs: 2000, jitter: 0.5 };
  let seed = 42;
  const random = () => ((seed = (seed * 16807) % 2147483647) / 2147483647);
  for (let attempt = 0; attempt < 12; attempt++) {
    const raw = Math.min(2000, 100 * 2 ** attempt);
    const seen: number[] = [];
    for (let i = 0; i < 200; i++) {
      const d = backoffDelay(attempt, options, random);
      assert.ok(d >= raw * 0.5 - 0.5 && d <= raw + 0.5, `attempt ${attempt}: ${d} outside [${raw / 2}, ${raw}]`);
      seen.push(d);
    }
    assert.ok(Math.max(...seen) - Math.min(...seen) > raw * 0.3, `attempt ${attempt}: jitter spreads the delays`);
  }
  assert.equal(backoffDelay(0, options, () => 0), 100, 'no randomness: the raw delay');
  assert.equal(backoffDelay(1000, options, () => 0), 2000, 'huge attempt numbers stay capped');
});

test('the default cap keeps a returning camera within the 5 s recovery target', () => {
  assert.ok(DEFAULT_BACKOFF.maxMs <= 3000);
  for (let attempt = 0; attempt < 50; attempt++) assert.ok(backoffDelay(attempt) <= DEFAULT_BACKOFF.maxMs);
});

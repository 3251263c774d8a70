// Inference failures are logged, but a model failing every frame does not flood the log.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import pino from 'pino';
import { FailureLog } from '@kestrel/agent/inference/failure-log';

test('the first failure of each code is logged at once, then one line a minute with the count in between', () => {
  const lines: Record<string, unknown>[] = [];
  const sink = new Writable({ write: (chunk, _enc, done) => (lines.push(JSON.parse(chunk.toString())), done()) });
  let now = 0;
  const log = new FailureLog(pino({ level: 'info' }, sink), 60_000, () => now);
  for (let i = 0; i < 600; i++, now += 100) log.note('E_INFERENCE_NONFINITE', 'door', 'output has NaN');
  log.note('E_MODEL_OUTPUTS', 'door', 'another kind');
  return new Promise<void>((resolve) => setImmediate(() => {
    const nan = lines.filter((l) => l.code === 'E_INFERENCE_NONFINITE');
    assert.equal(nan.length, 1, '60 s of failures at 10 fps: one line');
    now += 1;
    log.note('E_INFERENCE_NONFINITE', 'door', 'output has NaN');
    setImmediate(() => {
      const again = lines.filter((l) => l.code === 'E_INFERENCE_NONFINITE');
      assert.equal(again.length, 2);
      assert.equal(again[1].failuresSinceLastLog, 599);
      assert.equal(lines.filter((l) => l.code === 'E_MODEL_OUTPUTS').length, 1, 'another code is logged at once');
      assert.equal(again[0].msg, 'inference failed');
      resolve();
    });
  }));
});

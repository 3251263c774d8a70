// The agent's lifecycle: parts start in order and stop in exact reverse, including one that was
// still starting when the stop came; one part failing to stop does not keep the others running.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { silentLogger } from '@kestrel/core';
import { PartList, type Part } from '@kestrel/agent/lifecycle/parts';

function recorder() {
  const log: string[] = [];
  const part = (name: string, extra: Partial<Part> = {}): Part => ({
    name,
    start: () => void log.push(`start ${name}`),
    stop: () => void log.push(`stop ${name}`),
    ...extra,
  });
  return { log, part };
}

test('parts stop in exactly the reverse of their start order, and degraded lists each part\'s reasons in start order', async () => {
  const { log, part } = recorder();
  const parts = new PartList(silentLogger);
  for (const name of ['broker', 'outbox', 'mqtt', 'inference', 'cameras']) assert.equal(await parts.start(part(name, { degraded: () => (name === 'outbox' ? ['outbox in memory'] : name === 'cameras' ? ['camera yard failed'] : []) })), true);
  assert.deepEqual(parts.degraded(), ['outbox in memory', 'camera yard failed']);
  await parts.stop(1000);
  assert.deepEqual(log, ['start broker', 'start outbox', 'start mqtt', 'start inference', 'start cameras', 'stop cameras', 'stop inference', 'stop mqtt', 'stop outbox', 'stop broker']);
});

test('a stop during a slow start stops the part that is starting, and nothing starts after it', async () => {
  const { log, part } = recorder();
  const parts = new PartList(silentLogger);
  await parts.start(part('mqtt'));
  let finishLoad!: () => void;
  const loading = parts.start(part('inference', { start: () => new Promise<void>((resolve) => (finishLoad = () => (log.push('start inference'), resolve()))) }));
  const stopping = parts.stop(1000);
  finishLoad();
  assert.equal(await loading, false, 'start reports that a stop came meanwhile');
  await stopping;
  assert.equal(await parts.start(part('cameras')), false);
  assert.ok(log.includes('stop inference'), log.join(', '));
  assert.ok(!log.includes('start cameras'));
  assert.equal(log.at(-1), 'stop mqtt');
});

test('a part whose stop throws is logged and the rest still stop; each stop gets what is left of the budget', async () => {
  const { log, part } = recorder();
  const parts = new PartList(silentLogger);
  const budgets: number[] = [];
  await parts.start(part('outbox', { stop: (ms: number) => void (budgets.push(ms), log.push('stop outbox')) }));
  await parts.start(part('http', { stop: () => Promise.reject(new Error('EBADF')) }));
  await parts.start(part('publisher', { stop: async (ms: number) => (budgets.push(ms), await new Promise((r) => setTimeout(r, 50))) }));
  await parts.stop(1000);
  assert.ok(log.includes('stop outbox'));
  assert.ok(budgets[0] <= 1000 && budgets[1] < budgets[0], `budgets ${budgets.join(', ')} shrink as the stop goes on`);
});

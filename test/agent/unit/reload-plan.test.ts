// What a config reload does: only cameras change live; everything else waits for a restart.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkConfig, type LoadedConfig } from '@kestrel/config';
import { planReload, stableJson } from '@kestrel/agent/reload/plan';

function config(lines: string[]): LoadedConfig {
  const r = checkConfig({ text: lines.join('\n') }, { KESTREL_TEST: '1' }, '/srv');
  assert.ok(r.ok, JSON.stringify(r.errors));
  return r.config;
}

const cam = (name: string, extra: string[] = []) => [`  - name: ${name}`, '    source: { type: demo }', ...extra];

test('cameras added, removed, changed and unchanged are told apart by name and settings', () => {
  const before = config(['cameras:', ...cam('a'), ...cam('b'), ...cam('c')]);
  const after = config(['cameras:', ...cam('a'), ...cam('b', ['    fps: 1']), ...cam('d')]);
  const plan = planReload(before, after);
  assert.deepEqual(plan.add.map((c) => c.name), ['d']);
  assert.deepEqual(plan.remove, ['c']);
  assert.deepEqual(plan.restart.map((c) => c.name), ['b']);
  assert.deepEqual(plan.unchanged, ['a']);
  assert.deepEqual(plan.needsRestart, []);
});

test('disabling a camera removes it; enabling adds it', () => {
  const on = config(['cameras:', ...cam('a'), ...cam('b')]);
  const off = config(['cameras:', ...cam('a'), ...cam('b', ['    enabled: false'])]);
  assert.deepEqual(planReload(on, off).remove, ['b']);
  assert.deepEqual(planReload(off, on).add.map((c) => c.name), ['b']);
});

test('changes outside cameras are listed as needing a restart, by section', () => {
  const before = config(['model: { threads: 1 }', 'mqtt: { prefix: a }', 'cameras:', ...cam('a')]);
  const after = config(['model: { threads: 2 }', 'mqtt: { prefix: b }', 'http: { enabled: false }', 'cameras:', ...cam('a')]);
  const plan = planReload(before, after);
  assert.deepEqual(plan.needsRestart, ['http', 'model', 'mqtt']);
  assert.deepEqual(plan.unchanged, ['a']);
});

test('the same config reloaded is a no-op, whatever the key order', () => {
  const a = config(['cameras:', '  - name: a', '    fps: 2', '    source: { type: demo }']);
  const b = config(['cameras:', '  - source: { type: demo }', '    name: a', '    fps: 2']);
  const plan = planReload(a, b);
  assert.deepEqual([plan.add, plan.remove, plan.restart, plan.needsRestart], [[], [], [], []]);
  assert.equal(stableJson({ x: 1, y: { b: 2, a: 1 } }), stableJson({ y: { a: 1, b: 2 }, x: 1 }));
});

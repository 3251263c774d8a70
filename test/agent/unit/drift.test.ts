// The device's drift state per camera: comparisons against a baseline, the alert raised above the
// threshold and cleared at or below it, thin histograms carried into the next interval, and a
// baseline learned when the model has none (kept in the state folder, keyed by the model's hash).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { addFrame, emptyHistograms, makeBaseline, type BinnedDetection } from '@kestrel/core';
import { CameraDriftState, LearnedBaselines } from '@kestrel/agent/drift/index';

const FRAME = 100 * 100;
const person = (score: number, side = 20): BinnedDetection => ({ label: 'person', score, box: [0, 0, side, side] });
/** Scores spread around `mean`, deterministic. */
const spread = (i: number, mean: number) => Math.min(0.999, Math.max(0.41, mean + ((i * 7) % 21 - 10) / 100));

function baselineAround(mean: number) {
  const h = emptyHistograms(0.4);
  for (let i = 0; i < 400; i++) addFrame(h, [person(spread(i, mean))], FRAME);
  return makeBaseline(h, 'test', 0);
}

test('a camera that looks like its baseline is not drifted; one whose scores fall is, and clears when they come back', () => {
  const state = new CameraDriftState({ kind: 'model', baseline: baselineAround(0.8) }, { threshold: 0.25, minCount: 100 });
  for (let i = 0; i < 150; i++) state.observe([person(spread(i, 0.8))], FRAME);
  const calm = state.tick(1000).comparison!;
  assert.equal(calm.drifted, false);
  assert.ok(calm.psi < 0.05, `psi ${calm.psi}`);
  assert.equal(calm.changed, true, 'the first comparison sets the state');
  assert.equal(calm.baseline, 'model');

  for (let i = 0; i < 150; i++) state.observe([person(spread(i, 0.5))], FRAME);
  const low = state.tick(2000).comparison!;
  assert.equal(low.drifted, true);
  assert.equal(low.changed, true);
  assert.equal(low.since, 2000);
  assert.equal(low.worst?.histogram, 'score');
  assert.ok(low.psi > 0.25);
  assert.ok(low.window!.classes.person.score.reduce((a, b) => a + b) === 150, 'the compared window travels with it');
  assert.ok(state.isDrifted);

  for (let i = 0; i < 150; i++) state.observe([person(spread(i, 0.5))], FRAME);
  const still = state.tick(3000).comparison!;
  assert.equal(still.changed, false);
  assert.equal(still.since, 2000, 'since: when the alert was raised');

  for (let i = 0; i < 150; i++) state.observe([person(spread(i, 0.8))], FRAME);
  const back = state.tick(4000).comparison!;
  assert.equal(back.drifted, false);
  assert.equal(back.changed, true);
});

test('histograms too thin to compare carry over into the next interval', () => {
  const state = new CameraDriftState({ kind: 'model', baseline: baselineAround(0.8) }, { threshold: 0.25, minCount: 100 });
  for (let i = 0; i < 60; i++) state.observe([person(spread(i, 0.5))], FRAME);
  assert.equal(state.tick(1000).comparison, undefined, '60 of 100: nothing compared yet');
  for (let i = 0; i < 60; i++) state.observe([person(spread(i, 0.5))], FRAME);
  const c = state.tick(2000).comparison!;
  assert.equal(c.figures.find((f) => f.histogram === 'score')?.n, 120);
  assert.equal(c.drifted, true);
  assert.equal(state.tick(3000).comparison, undefined, 'the compared histograms start again');
});

test('a blind model (no detections at all) drifts on the per-frame count', () => {
  const state = new CameraDriftState({ kind: 'model', baseline: baselineAround(0.8) }, { threshold: 0.25, minCount: 100 });
  for (let i = 0; i < 120; i++) state.observe([], FRAME);
  const c = state.tick(1000).comparison!;
  assert.equal(c.drifted, true);
  assert.equal(c.worst?.histogram, 'count');
  assert.equal(c.perFrame, 0);
  assert.equal(c.baselinePerFrame, 1);
});

test('without a baseline one is learned after learnMinutes, then compared against; the state folder keeps it per model and camera', () => {
  const dir = mkdtempSync(join(tmpdir(), 'kestrel-drift-'));
  try {
    const state = new CameraDriftState({ kind: 'learning', until: 60_000, minScore: 0.4 }, { threshold: 0.25, minCount: 100 });
    for (let i = 0; i < 150; i++) state.observe([person(spread(i, 0.8))], FRAME);
    assert.deepEqual(state.tick(30_000), {}, 'still learning');
    const { learned } = state.tick(60_000);
    assert.ok(learned);
    assert.equal(learned.frames, 150);
    assert.equal(learned.source, 'learned');
    assert.equal(state.baselineKind, 'learned');

    const store = new LearnedBaselines(dir);
    const sha = 'ab'.repeat(32);
    const path = store.save(sha, 'door', learned);
    assert.equal(path, join(dir, 'drift', 'abababababababab', 'door.json'));
    assert.deepEqual(store.load(sha, 'door'), learned);
    assert.equal(store.load('cd'.repeat(32), 'door'), undefined, 'another model learns its own');

    for (let i = 0; i < 150; i++) state.observe([person(spread(i, 0.5), 60)], FRAME);
    const c = state.tick(70_000).comparison!;
    assert.equal(c.baseline, 'learned');
    assert.equal(c.drifted, true);

    writeFileSync(path, '{"schema": 1');
    assert.throws(() => store.load(sha, 'door'), /door\.json: the drift baseline is not valid JSON/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('learning goes on while too few frames were seen', () => {
  const state = new CameraDriftState({ kind: 'learning', until: 1000, minScore: 0.4 }, { threshold: 0.25, minCount: 100 });
  for (let i = 0; i < 20; i++) state.observe([person(0.9)], FRAME);
  assert.deepEqual(state.tick(5000), {});
  assert.equal(state.baselineKind, 'learning');
});

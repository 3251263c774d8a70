// The watchdog's rule: fed while frames go through inference, from any camera.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { watchdogLiveness, type LivenessInput } from '@kestrel/agent/systemd/liveness';

const base: LivenessInput = {
  now: 100_000,
  withinMs: 10_000,
  inference: { alive: true, inFlight: 0 },
  cameras: [{ name: 'a', state: 'streaming' }, { name: 'b', state: 'streaming' }],
  lastProgressAt: 99_000,
  mqttConnected: true,
  outboxDepth: 0,
};

test('alive while frames went through inference within the period', () => {
  assert.deepEqual(watchdogLiveness(base), { alive: true, status: '2/2 cameras streaming; mqtt connected; outbox 0' });
});

test('one camera down among several does not starve the watchdog; it shows in STATUS', () => {
  const r = watchdogLiveness({ ...base, cameras: [{ name: 'a', state: 'streaming' }, { name: 'b', state: 'failed' }], mqttConnected: false, outboxDepth: 7 });
  assert.equal(r.alive, true);
  assert.equal(r.status, '1/2 cameras streaming (b failed); mqtt away; outbox 7');
});

test('no frame processed for a whole period, or inference not answering, starves it', () => {
  const stalled = watchdogLiveness({ ...base, lastProgressAt: 85_000, cameras: [{ name: 'a', state: 'stalled' }] });
  assert.equal(stalled.alive, false);
  assert.match(stalled.status, /0\/1 cameras streaming \(a stalled\); no frame processed for 15 s/);
  const hung = watchdogLiveness({ ...base, inference: { alive: false, reason: 'inference has not answered a frame for 31 s', inFlight: 1 } });
  assert.equal(hung.alive, false);
  assert.match(hung.status, /inference has not answered a frame for 31 s/);
});

test('with no camera enabled, only inference counts', () => {
  assert.equal(watchdogLiveness({ ...base, cameras: [], lastProgressAt: 0 }).alive, true);
});

test('cameras with detection switched off are named, and none detecting is not "no cameras enabled"', () => {
  const r = watchdogLiveness({ ...base, cameras: [{ name: 'a', state: 'streaming' }], detectionOff: ['b'] });
  assert.deepEqual(r, { alive: true, status: '1/1 cameras streaming; detection off: b; mqtt connected; outbox 0' });
  const none = watchdogLiveness({ ...base, cameras: [], detectionOff: ['a', 'b'], lastProgressAt: 0 });
  assert.deepEqual(none, { alive: true, status: 'no camera detecting; detection off: a, b; mqtt connected; outbox 0' });
});

// When inference counts as alive, and what /healthz says about it and the cameras.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { InferenceLiveness } from '@kestrel/agent/health/inference-liveness';
import { buildHealthReport, type HealthInput } from '@kestrel/agent/health/report';

test('inference is alive once loaded, while it answers, and not when a frame waits past the limit', () => {
  const l = new InferenceLiveness(1000);
  assert.equal(l.check({ now: 0, ready: false, framesFlowing: false }).alive, false);
  l.loaded(0);
  assert.equal(l.check({ now: 10, ready: true, framesFlowing: true }).alive, true);
  const t = l.begin(100);
  assert.equal(l.check({ now: 900, ready: true, framesFlowing: true }).alive, true, 'a frame in the worker within the limit');
  const hung = l.check({ now: 1200, ready: true, framesFlowing: true });
  assert.equal(hung.alive, false);
  assert.match(hung.reason!, /not answered a frame for 1 s/);
  l.answered(t, 1300);
  assert.equal(l.check({ now: 1400, ready: true, framesFlowing: true }).alive, true);
});

test('a worker that answers every frame with an error is not alive: a NaN model must not pass for healthy with 0 events', () => {
  const l = new InferenceLiveness(1000);
  l.loaded(0);
  for (let t = 100; t <= 3000; t += 100) {
    l.answered(l.begin(t), t);
    l.inferenceFailed("the model's output output0 has 5 NaN and 0 infinite values of 5", t);
  }
  const check = l.check({ now: 3000, ready: true, framesFlowing: true });
  assert.equal(check.alive, false);
  assert.match(check.reason!, /every frame failed inference for 3 s: the model's output output0 has 5 NaN/);
  assert.equal(l.failing(3000), check.reason);
  // One frame through: healthy again at once; a failure now and then is not "failing".
  l.processed(3100);
  l.inferenceFailed('one bad frame', 3200);
  assert.equal(l.check({ now: 3300, ready: true, framesFlowing: true }).alive, true);
  assert.equal(l.failing(3300), undefined);
  // A new model gets the stale time to show it works, as at start.
  l.loaded(10_000);
  l.inferenceFailed('still failing', 10_500);
  assert.equal(l.failing(10_600), undefined);
  assert.match(l.failing(11_100)!, /still failing/);
});

test('no answer for long while frames arrive is not alive; with no frames, silence is fine', () => {
  const l = new InferenceLiveness(1000);
  l.loaded(0);
  assert.equal(l.check({ now: 5000, ready: true, framesFlowing: false }).alive, true, 'nothing to answer');
  const stuck = l.check({ now: 5000, ready: true, framesFlowing: true });
  assert.equal(stuck.alive, false);
  assert.match(stuck.reason!, /frames arrive but inference last answered 5 s ago/);
  const failed = l.begin(5000);
  l.failed(failed);
  assert.equal(l.check({ now: 5001, ready: true, framesFlowing: false }).inFlight, 0);
});

function input(over: Partial<HealthInput> = {}): HealthInput {
  return {
    now: 10_000,
    deviceId: 'd',
    startedAt: 0,
    cameras: [{ name: 'a', state: 'streaming', lastFrameAt: 9_900 }],
    inference: { alive: true, inFlight: 0, restarts: 0, provider: 'cpu', lastAnswerAgeMs: 50 },
    mqtt: { connected: false, reconnects: 3, telemetryDropped: 9 },
    outbox: { depth: 12, bytes: 3000, dropped: 0, durable: true },
    degraded: [],
    ...over,
  };
}

test('healthy needs every camera streaming and inference alive; the broker being away does not count', () => {
  const ok = buildHealthReport(input());
  assert.equal(ok.status, 'ok');
  assert.equal(ok.cameras.a!.lastFrameAgeMs, 100);
  assert.equal(ok.uptimeSeconds, 10);
  const camera = buildHealthReport(input({ cameras: [{ name: 'a', state: 'streaming' }, { name: 'b', state: 'failed', lastError: 'Connection refused' }] }));
  assert.equal(camera.status, 'unhealthy');
  assert.deepEqual(camera.reasons, ['camera b is failed: Connection refused']);
  assert.equal(camera.cameras.b!.ok, false);
  const inference = buildHealthReport(input({ inference: { alive: false, reason: 'stuck', inFlight: 1, restarts: 2 } }));
  assert.deepEqual(inference.reasons, ['stuck']);
  assert.equal(inference.inference.ok, false);
});

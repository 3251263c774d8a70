// Sampling strategies and quotas: what each rule picks, and how quotas bound what is kept.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  CountChangeStrategy,
  DisagreementStrategy,
  Quota,
  RandomStrategy,
  RareClassStrategy,
  Sampler,
  UncertaintyStrategy,
  TokenBucket,
} from '@kestrel/agent/sampling/index';
import { det, manualClock, noiseFrame, quietLogger, samplingConfig, seededRandom } from './support/frames.js';

const at = Date.UTC(2025, 0, 1);
const input = (detections: ReturnType<typeof det>[], extra: object = {}) => ({ camera: 'door', at, detections, ...extra });

test('uncertainty keeps a frame when any detection scores inside [low, high], the bounds included', () => {
  const s = new UncertaintyStrategy({ low: 0.3, high: 0.6 });
  assert.equal(s.evaluate(input([det('person', 0.9)])), false);
  assert.equal(s.evaluate(input([det('person', 0.2)])), false);
  assert.equal(s.evaluate(input([det('person', 0.9), det('dog', 0.45)])), true);
  assert.equal(s.evaluate(input([det('person', 0.3)])), true);
  assert.equal(s.evaluate(input([det('person', 0.6)])), true);
  assert.equal(s.evaluate(input([])), false);
});

test('random keeps about `probability` of the frames, and none at probability 0', () => {
  const s = new RandomStrategy(0.1, seededRandom(7));
  let kept = 0;
  for (let i = 0; i < 10_000; i++) if (s.evaluate()) kept++;
  assert.ok(kept > 900 && kept < 1100, `kept ${kept} of 10000 at p = 0.1`);
  const never = new RandomStrategy(0, () => 0);
  assert.equal(never.evaluate(), false);
});

test('rare class: a label seen in fewer than minCount frames over the window is rare, and rare again once those frames leave it', () => {
  const s = new RareClassStrategy({ minCount: 3, windowHours: 1, minScore: 0.5 });
  const frame = (t: number, ...d: ReturnType<typeof det>[]) => s.evaluate({ camera: 'door', at: t, detections: d });
  assert.equal(frame(at, det('bear', 0.9)), true, 'first sighting');
  assert.equal(frame(at + 1000, det('bear', 0.9), det('bear', 0.8)), true, 'second frame (a label counts once per frame)');
  assert.equal(frame(at + 2000, det('bear', 0.9)), true, 'third frame: 2 seen before it, still rare');
  assert.equal(frame(at + 3000, det('bear', 0.9)), false, '3 frames seen: no longer rare');
  assert.equal(frame(at + 4000, det('bear', 0.4)), false, 'below minScore does not count and does not fire');
  assert.equal(frame(at + 5000, det('bear', 0.9), det('owl', 0.7)), true, 'a frame with any rare label fires');
  assert.equal(s.seen('bear', Math.floor((at + 5000) / 75_000)), 5);
  assert.equal(frame(at + 2 * 3_600_000, det('bear', 0.9)), true, 'two hours later the window has forgotten');
});

test('count change waits for a full window, then fires when the count jumps by minJump from the moving average', () => {
  const s = new CountChangeStrategy({ minJump: 3, window: 4, minScore: 0.5 });
  const people = (n: number, low = 0) => s.evaluate(input([...Array.from({ length: n }, () => det('person', 0.9)), ...Array.from({ length: low }, () => det('person', 0.2))]));
  assert.equal(people(5), false, 'window not full');
  assert.equal(people(1), false);
  assert.equal(people(1), false);
  assert.equal(people(1), false, 'fourth frame fills the window');
  // average of [5, 1, 1, 1] = 2: 4 differs by 2, 5 by 3
  assert.equal(people(4), false);
  assert.equal(people(1, 6), false, 'low scores are not counted');
  // window now [1, 1, 4, 1] → average 1.75; 5 differs by 3.25
  assert.equal(people(5), true);
  // window [1, 4, 1, 5] → 2.75; 0 differs by 2.75
  assert.equal(people(0), false);
});

test('disagreement fires when the shadow model misses an object or finds another; same-label overlaps match', () => {
  const s = new DisagreementStrategy({ iou: 0.5, minScore: 0.3, minUnmatched: 1 });
  const a = det('person', 0.8, [100, 100, 200, 300]);
  const shadow = (...d: ReturnType<typeof det>[]) => ({ modelVersion: 'shadow-1', detections: d });
  assert.equal(s.evaluate(input([a])), false, 'no shadow model: never fires');
  assert.equal(s.evaluate(input([a], { shadow: shadow(det('person', 0.7, [105, 102, 205, 298])) })), false, 'the same object');
  assert.equal(s.evaluate(input([a], { shadow: shadow() })), true, 'shadow found nothing');
  assert.equal(s.evaluate(input([a], { shadow: shadow(det('dog', 0.7, [100, 100, 200, 300])) })), true, 'same place, other label');
  assert.equal(s.evaluate(input([a], { shadow: shadow(det('person', 0.7, [150, 200, 260, 400])) })), true, 'IoU too low');
  assert.equal(s.evaluate(input([a], { shadow: shadow(det('person', 0.7, [105, 102, 205, 298]), det('cat', 0.1)) })), false, 'a low-score extra does not count');
  const two = new DisagreementStrategy({ iou: 0.5, minScore: 0.3, minUnmatched: 2 });
  assert.equal(two.evaluate(input([a], { shadow: shadow() })), false, 'one unmatched < minUnmatched 2');
});

test('a token bucket spends a burst up to its capacity, then refills at capacity per period', () => {
  const b = new TokenBucket(3, 60_000, at);
  for (let i = 0; i < 3; i++) {
    assert.equal(b.canTake(at), true);
    b.take(at);
  }
  assert.equal(b.canTake(at), false);
  assert.equal(b.canTake(at + 19_999), false, 'one token takes 20 s to come back');
  assert.equal(b.canTake(at + 20_000), true);
  assert.equal(b.available(at + 10 * 60_000), 3, 'never more than capacity');
});

test('a quota needs a token of every horizon it names: per minute, hour and day', () => {
  const q = new Quota({ perMinute: 2, perHour: 3, perDay: 4 }, at);
  let t = at;
  const keep = () => {
    if (!q.canTake(t)) return false;
    q.take(t);
    return true;
  };
  assert.deepEqual([keep(), keep(), keep()], [true, true, false], 'per minute: 2');
  t += 60_000;
  assert.deepEqual([keep(), keep()], [true, false], 'per hour: 3 (the hour bucket has refilled only 0.05)');
  t += 2 * 3_600_000;
  assert.deepEqual([keep(), keep()], [true, false], 'per day: 4 — the day bucket refilled only 1/12 of a token per 2 h, not enough');
  const zero = new Quota({ perHour: 0 }, at);
  assert.equal(zero.canTake(at + 86_400_000), false, '0 keeps none');
  assert.equal(new Quota({}, at).canTake(at), true, 'no horizons: no limit');
});

test('the sampler combines strategies: a frame keeps every reason that fired within its quota, counted per strategy', async () => {
  const clock = manualClock(at);
  const config = samplingConfig({
    dedup: { enabled: false },
    quota: {},
    strategies: {
      uncertainty: { quota: { perMinute: 2 } },
      random: { enabled: true, probability: 1, quota: { perMinute: 3 } },
    },
  });
  const sampler = new Sampler({ config, deviceId: 'pi', mqttPrefix: 'kestrel', logger: quietLogger, now: clock.now });
  await sampler.start();
  try {
    for (let i = 0; i < 4; i++) sampler.consider(noiseFrame({ capturedAt: clock.now() + i }), [det('person', 0.5)], 'v1');
    await sampler.flush();
    const s = sampler.stats();
    assert.equal(s.considered, 4);
    assert.equal(s.kept, 3, 'frames 1-3 kept (random has 3 tokens), frame 4 has no strategy with a token');
    assert.deepEqual(s.strategies.uncertainty, { fired: 4, kept: 2, droppedQuota: 2, droppedGlobalQuota: 0, droppedDuplicate: 0 });
    assert.deepEqual(s.strategies.random, { fired: 4, kept: 3, droppedQuota: 1, droppedGlobalQuota: 0, droppedDuplicate: 0 });
    assert.equal(s.strategies.rareClass.fired, 0, 'disabled strategies stay at zero');
    assert.equal(s.buffer?.samples, 3);
    assert.equal(s.backlog, 3, 'no transport: everything waits in the buffer');
    assert.deepEqual(s.upload, { transport: 'none' });
  } finally {
    await sampler.stop();
  }
});

test('the device-wide quota caps all cameras together; cameras can override strategies or opt out', async () => {
  const clock = manualClock(at);
  const config = samplingConfig({
    dedup: { enabled: false },
    quota: { perMinute: 3 },
    strategies: { uncertainty: { quota: {} } },
    cameras: { yard: { strategies: { uncertainty: { low: 0.7, high: 0.8 } } }, garage: { enabled: false } },
  });
  const sampler = new Sampler({ config, deviceId: 'pi', mqttPrefix: 'kestrel', logger: quietLogger, now: clock.now });
  await sampler.start();
  try {
    const look = (camera: string, score: number) => sampler.consider(noiseFrame({ camera, capturedAt: clock.now() }), [det('person', score)], 'v1');
    look('yard', 0.5); // outside yard's band 0.7-0.8
    look('yard', 0.75);
    look('garage', 0.5);
    look('door', 0.5);
    look('door', 0.5);
    look('door', 0.5); // 4th keep: over the device-wide 3 per minute
    await sampler.flush();
    const s = sampler.stats();
    assert.equal(s.kept, 3);
    assert.equal(s.dropped.quota, 1);
    assert.equal(s.strategies.uncertainty.droppedGlobalQuota, 1);
    assert.deepEqual(sampler.cameraStats(), { yard: { considered: 2, kept: 1 }, garage: { considered: 1, kept: 0 }, door: { considered: 3, kept: 2 } });
    clock.advance(60_000);
    look('door', 0.5);
    await sampler.flush();
    assert.equal(sampler.stats().kept, 4, 'a minute later the device-wide bucket has tokens again');
  } finally {
    await sampler.stop();
  }
});

test('the drift strategy keeps frames of a camera only while its drift alert is on', async () => {
  const clock = manualClock(at);
  const config = samplingConfig({
    dedup: { enabled: false },
    strategies: { uncertainty: { enabled: false }, drift: { probability: 1, quota: { perMinute: 10 } } },
  });
  const sampler = new Sampler({ config, deviceId: 'pi', mqttPrefix: 'kestrel', logger: quietLogger, now: clock.now });
  await sampler.start();
  try {
    const look = (camera: string) => sampler.consider(noiseFrame({ camera, capturedAt: clock.now() }), [det('person', 0.9)], 'v1');
    look('door');
    sampler.setDrifted('door', true);
    look('door');
    look('yard');
    sampler.setDrifted('door', false);
    look('door');
    await sampler.flush();
    const s = sampler.stats();
    assert.equal(s.kept, 1, 'only the frame seen while door was drifted');
    assert.equal(s.strategies.drift.kept, 1);
    assert.deepEqual(sampler.cameraStats().door, { considered: 3, kept: 1 });
    assert.equal(sampler.cameraStats().yard.kept, 0, 'another camera is not boosted');
  } finally {
    await sampler.stop();
  }
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Box } from '@kestrel/core/image/letterbox';
import type { Detection } from '@kestrel/core/detect/types';
import { isKestrelError } from '@kestrel/core/util/errors';
import { ObjectTracker, type ObjectTrackerOptions } from '@kestrel/agent/track/object-tracker';
import type { TrackEvent } from '@kestrel/agent/track/events';
import { trackerOptions } from '../support/camera-config.js';

const person = (box: Box, score = 0.8): Detection => ({ classId: 0, label: 'person', score, box });
const FRAME_MS = 100; // 10 fps
const T0 = 1_700_000_000_000;

/** Runs frames through a tracker; `detect(k)` gives frame k's detections. */
function run(tracker: ObjectTracker, frames: number, detect: (k: number) => Detection[], start = 0): TrackEvent[] {
  const events: TrackEvent[] = [];
  for (let k = start; k < start + frames; k++) events.push(...tracker.update(detect(k), T0 + k * FRAME_MS));
  return events;
}

const tracking = { tracker: { minHits: 3, lostSeconds: 0.5 } };
const base: ObjectTrackerOptions = { ...trackerOptions(tracking), events: { updateIntervalMs: 1000 } };
/** Base options with these filters (zones, classes, area). */
const withFilters = (filters: Record<string, unknown>): ObjectTrackerOptions => ({ ...base, ...trackerOptions({ ...tracking, filters }) });

test('life cycle: new once confirmed, throttled updates while it moves, end when lost — one id throughout', () => {
  const tracker = new ObjectTracker(base);
  // Walks right 8 px a frame (80 px/s) for 6 s, box 100×200, then leaves the picture.
  const walking = (k: number) => [person([8 * k, 100, 8 * k + 100, 300])];
  const events = run(tracker, 60, walking);
  events.push(...run(tracker, 10, () => [], 60));

  const [first, ...rest] = events;
  assert.equal(first.type, 'new');
  assert.equal(first.reason, 'confirmed');
  assert.equal(first.frameTime, T0 + 2 * FRAME_MS, 'new on the 3rd frame (minHits 3)');
  assert.equal(first.firstSeen, T0, 'firstSeen is the first detection, before confirmation');
  assert.match(first.id, new RegExp(`^${T0}-[0-9a-f]{8}$`));
  assert.equal(first.camera, 'door');
  assert.equal(first.label, 'person');

  const updates = rest.filter((e) => e.type === 'update');
  assert.ok(updates.length >= 4 && updates.length <= 6, `about one update a second while moving, got ${updates.length}`);
  assert.ok(updates.every((e) => e.reason === 'moved'));
  const times = [first, ...updates].map((e) => e.frameTime);
  for (let i = 1; i < times.length; i++) assert.ok(times[i] - times[i - 1] >= 1000, 'never more often than updateIntervalMs');

  const end = rest.at(-1)!;
  assert.equal(end.type, 'end');
  assert.equal(end.reason, 'lost');
  assert.equal(end.lastSeen, T0 + 59 * FRAME_MS, 'lastSeen is the last frame with a detection');
  assert.equal(end.frameTime, T0 + 64 * FRAME_MS, 'ended at the 5th missed frame (lostSeconds 0.5 at 10 fps)');
  assert.deepEqual(end.box, [8 * 59, 100, 8 * 59 + 100, 300]);
  assert.ok(events.every((e) => e.id === first.id && e.trackId === first.trackId), 'new, updates and end share one id');
  assert.equal(events.filter((e) => e.type === 'end').length, 1);
});

test('a steady object sends no updates; a notable score rise does (after the interval)', () => {
  const tracker = new ObjectTracker(base);
  const still: Box = [200, 100, 300, 300];
  const steady = run(tracker, 50, () => [person(still, 0.7)]);
  assert.deepEqual(steady.map((e) => e.type), ['new'], '5 s of a steady object: only new');
  const better = run(tracker, 20, () => [person(still, 0.9)], 50);
  assert.deepEqual(better.map((e) => `${e.type}:${e.reason}`), ['update:score']);
  assert.equal(better[0].score, 0.9, 'score is the best so far');
  const worse = run(tracker, 20, () => [person(still, 0.6)], 70);
  assert.deepEqual(worse, [], 'a falling score is no news');
  assert.equal(tracker.flush(T0 + 9000)[0].score, 0.9);
});

test('zone changes are sent at once, with entered and left zones', () => {
  const tracker = new ObjectTracker(withFilters({ zones: [{ name: 'porch', polygon: [[300, 0], [600, 0], [600, 400], [300, 400]] }] }));
  // Walks right 20 px a frame; feet (bottom centre, x + 50) cross x = 300 at frame 13, x = 600 at frame 28.
  const events = run(tracker, 35, (k) => [person([20 * k, 100, 20 * k + 100, 300])]);
  const zoneEvents = events.filter((e) => e.reason === 'zones');
  assert.equal(zoneEvents.length, 2);
  assert.deepEqual(zoneEvents[0].enteredZones, ['porch']);
  assert.deepEqual(zoneEvents[0].zones, ['porch']);
  assert.equal(zoneEvents[0].frameTime, T0 + 13 * FRAME_MS, 'the frame the feet crossed in');
  assert.deepEqual(zoneEvents[1].leftZones, ['porch']);
  assert.deepEqual(zoneEvents[1].zones, []);
  assert.equal(zoneEvents[1].frameTime, T0 + 28 * FRAME_MS);
});

test('requiredZones: no events for an object until it stands in one of them', () => {
  const tracker = new ObjectTracker({
    ...withFilters({ zones: [{ name: 'gate', polygon: [[400, 0], [640, 0], [640, 480], [400, 480]] }] }),
    events: { ...base.events, requiredZones: ['gate'] },
  });
  const outside = run(tracker, 20, () => [person([0, 100, 100, 300])]);
  assert.deepEqual(outside, []);
  const inside = run(tracker, 3, () => [person([420, 100, 520, 300])], 20);
  // The object jumped: a different track (3 frames to confirm) that starts inside the gate.
  assert.deepEqual(inside.map((e) => e.type), ['new']);
  assert.deepEqual(inside[0].zones, ['gate']);
});

test('flush ends every open event with reason stopped; unconfirmed tracks produce nothing', () => {
  const tracker = new ObjectTracker(base);
  run(tracker, 5, () => [person([0, 0, 100, 200]), person([300, 0, 400, 200])]);
  run(tracker, 1, () => [person([0, 0, 100, 200]), person([300, 0, 400, 200]), person([600, 0, 700, 200])], 5);
  const ends = tracker.flush(T0 + 10_000);
  assert.equal(ends.length, 2, 'the third object was never confirmed');
  assert.ok(ends.every((e) => e.type === 'end' && e.reason === 'stopped' && e.frameTime === T0 + 10_000));
  assert.notEqual(ends[0].id, ends[1].id);
  assert.deepEqual(tracker.flush(T0 + 11_000), [], 'a second flush has nothing to end');
  assert.equal(tracker.stats().openEvents, 0);
});

test('filters: classes, area and a score floor apply before tracking', () => {
  const tracker = new ObjectTracker({ ...base, ...trackerOptions({ filters: { classes: ['car'], minArea: 5000 }, tracker: { minHits: 1 } }) });
  const car = (box: Box, score = 0.9): Detection => ({ classId: 2, label: 'car', score, box });
  const events = tracker.update([person([0, 0, 100, 100]), car([0, 0, 50, 50]), car([200, 0, 300, 100]), car([400, 0, 500, 100], 0.05)], T0);
  assert.equal(events.length, 1);
  assert.deepEqual(events[0].box, [200, 0, 300, 100]);
  assert.equal(tracker.stats().filteredOut, 3);
});

test('options the config cannot check are named (the config checks its own settings, with their paths)', () => {
  const cases: Array<[Partial<ObjectTrackerOptions>, RegExp]> = [
    [{ events: { requiredZones: ['yard'] } }, /events\.requiredZones: zone "yard" is not defined \(defined: none\)/],
    [{ filters: { ...base.filters, classes: ['person', ''] } }, /camera "door": classes: expected a list of labels/],
    [{ maxArea: -1 }, /camera "door": maxArea: must be > minArea/],
    [{ camera: ' ' }, /camera name must be a non-empty string/],
  ];
  for (const [options, message] of cases) {
    assert.throws(() => new ObjectTracker({ ...base, ...options }), (err: unknown) => {
      assert.ok(isKestrelError(err));
      assert.equal(err.code, 'E_TRACK_OPTIONS');
      assert.match(err.message, message);
      return true;
    });
  }
});

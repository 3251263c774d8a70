import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Box } from '@kestrel/core/image/letterbox';
import type { Detection } from '@kestrel/core/detect/types';
import { Tracker } from '@kestrel/agent/track/tracker';
import { trackerSettings } from '../support/camera-config.js';

const person = (box: Box, score = 0.9): Detection => ({ classId: 0, label: 'person', score, box });
const car = (box: Box, score = 0.9): Detection => ({ classId: 2, label: 'car', score, box });
const bag = (label: 'backpack' | 'handbag' | 'suitcase', box: Box, score = 0.6): Detection => ({ classId: { backpack: 24, handbag: 26, suitcase: 28 }[label], label, score, box });
const FRAME_MS = 100;

/** A tracker with the camera defaults and these tracker settings (and filters.minScore). */
function trackerWith(tracker: Record<string, unknown> = {}, minScore?: number): Tracker {
  return new Tracker(trackerSettings({ tracker, ...(minScore === undefined ? {} : { filters: { minScore } }) }));
}

/** The id of the live track whose box equals `box`. */
function idAt(tracker: Tracker, box: Box): number | undefined {
  return tracker.active.find((t) => t.missed === 0 && t.box.every((v, i) => v === box[i]))?.id;
}

test('two people crossing keep their ids (motion prediction, not last position, decides)', () => {
  const tracker = trackerWith({ minHits: 3, lostSeconds: 1 });
  // A walks right, B walks left, 20 px a frame, boxes 40×120; B walks 30 px lower. At frame 10
  // B's box is where A's was a frame before: matching on last positions would swap them.
  const boxA = (k: number): Box => [20 * k, 100, 20 * k + 40, 220];
  const boxB = (k: number): Box => [380 - 20 * k, 130, 420 - 20 * k, 250];
  let idA: number | undefined;
  let idB: number | undefined;
  for (let k = 0; k <= 20; k++) {
    tracker.update([person(boxA(k)), person(boxB(k))], 1000 + k * FRAME_MS);
    const a = idAt(tracker, boxA(k));
    const b = idAt(tracker, boxB(k));
    assert.ok(a !== undefined && b !== undefined && a !== b, `frame ${k}: both tracked separately`);
    idA ??= a;
    idB ??= b;
    assert.equal(a, idA, `frame ${k}: A keeps id ${idA}`);
    assert.equal(b, idB, `frame ${k}: B keeps id ${idB}`);
  }
  assert.equal(tracker.active.length, 2, 'no extra tracks were born');
});

test('an object missing for less than lostSeconds keeps its id, even while moving', () => {
  const tracker = trackerWith({ minHits: 2, lostSeconds: 0.5 });
  const box = (k: number): Box => [100 + 10 * k, 50, 160 + 10 * k, 170];
  let time = 0;
  for (let k = 0; k < 5; k++) tracker.update([person(box(k))], (time += FRAME_MS));
  const id = idAt(tracker, box(4));
  assert.ok(id);
  for (let k = 5; k < 9; k++) {
    const step = tracker.update([], (time += FRAME_MS)); // 4 frames unseen (it keeps walking)
    assert.deepEqual(step.ended, []);
  }
  tracker.update([person(box(9))], (time += FRAME_MS));
  assert.equal(idAt(tracker, box(9)), id, 'back after 4 missed frames: same id');

  let ended: number[] = [];
  for (let k = 0; k < 5; k++) ended = ended.concat(tracker.update([], (time += FRAME_MS)).ended.map((t) => t.id));
  assert.deepEqual(ended, [id], 'ends at the 5th missed frame (0.5 s unseen)');
  tracker.update([person(box(15))], (time += FRAME_MS));
  const again = idAt(tracker, box(15));
  assert.ok(again !== undefined && again !== id, 'a new life gets a new id');
});

test('minHits: a track is confirmed on its minHits-th match; a flicker never is', () => {
  const tracker = trackerWith({ minHits: 3 });
  const b: Box = [10, 10, 60, 110];
  assert.deepEqual(tracker.update([person(b)], 100).confirmed, []);
  assert.deepEqual(tracker.update([person(b)], 200).confirmed, []);
  const step = tracker.update([person(b)], 300);
  assert.equal(step.confirmed.length, 1);
  assert.equal(step.confirmed[0].hits, 3);
  assert.deepEqual(tracker.update([person(b)], 400).confirmed, [], 'confirmed once only');

  // A detection seen in one frame, then not: its tentative track dies without a trace.
  const flicker = trackerWith({ minHits: 2 });
  flicker.update([person(b)], 100);
  const gone = flicker.update([], 200);
  assert.deepEqual(gone.ended, [], 'unconfirmed tracks do not "end"');
  assert.equal(flicker.active.length, 0);
  flicker.update([person(b)], 300);
  assert.equal(flicker.update([person(b)], 400).confirmed.length, 1);
  assert.equal(flicker.active[0].id, 2, 'the flicker used id 1; the real object has its own');
  assert.equal(trackerWith({ minHits: 1 }).update([person(b)], 0).confirmed.length, 1, 'minHits 1 confirms at once');
});

test('association is per label group: a car and a person in the same place are two objects', () => {
  const tracker = trackerWith({ minHits: 1 });
  const b: Box = [0, 0, 100, 100];
  tracker.update([person(b), car(b)], 100);
  const step = tracker.update([person(b), car(b)], 200);
  assert.equal(tracker.active.length, 2);
  assert.deepEqual(step.matched.map((t) => t.label).sort(), ['car', 'person']);
  assert.equal(new Set(step.matched.map((t) => t.id)).size, 2);
});

test('low-score detections keep a track alive (ByteTrack) but never start one', () => {
  const tracker = trackerWith({ minHits: 1, lostSeconds: 0.3, lowScore: 0.1 }, 0.5);
  const b: Box = [0, 0, 100, 200];
  tracker.update([person(b, 0.9)], 100);
  const id = tracker.active[0].id;
  for (let k = 0; k < 6; k++) {
    const step = tracker.update([person(b, 0.25)], 200 + k * 100); // half occluded: weak, for longer than lostSeconds
    assert.deepEqual(step.ended, []);
  }
  assert.equal(tracker.active[0].id, id);
  assert.equal(tracker.active[0].score, 0.25, 'current score follows the detection');
  assert.equal(tracker.active[0].bestScore, 0.9, 'best score is kept');

  const fresh = trackerWith({ minHits: 1, lowScore: 0.1 }, 0.5);
  fresh.update([person(b, 0.3)], 100);
  assert.equal(fresh.active.length, 0, 'a weak detection alone is not an object');
  fresh.update([person(b, 0.05)], 200);
  assert.equal(fresh.active.length, 0);
});

test('reset() hands back the confirmed tracks and forgets everything', () => {
  const tracker = trackerWith({ minHits: 2 });
  tracker.update([person([0, 0, 10, 10]), person([50, 50, 60, 60])], 100);
  tracker.update([person([0, 0, 10, 10])], 200);
  const ended = tracker.reset();
  assert.equal(ended.length, 1);
  assert.equal(tracker.active.length, 0);
});

test('a track starts only at startScore: a detection above filters.minScore but below it continues, never starts', () => {
  const tracker = trackerWith({ minHits: 1, startScore: 0.6 }, 0.35);
  const b: Box = [0, 0, 100, 200];
  tracker.update([person(b, 0.45)], 100);
  assert.equal(tracker.active.length, 0, 'reported-score but not start-score: no track');
  tracker.update([person(b, 0.7)], 200);
  const id = tracker.active[0].id;
  tracker.update([person(b, 0.45)], 300);
  assert.equal(tracker.active.length, 1);
  assert.equal(tracker.active[0].id, id);
  assert.equal(tracker.active[0].missed, 0, 'the 0.45 detection continued the track');
});

test('a person hidden behind another for a second comes back as itself (recovery within lostSeconds)', () => {
  const tracker = trackerWith({ minHits: 3, lostSeconds: 3 });
  // A stands still in the middle; B walks right behind A, 15 px a frame, hidden while their boxes overlap.
  const boxA: Box = [300, 100, 360, 260];
  const boxB = (k: number): Box => [100 + 15 * k, 110, 160 + 15 * k, 270];
  let idB: number | undefined;
  let hidden = 0;
  for (let k = 0; k <= 35; k++) {
    const b = boxB(k);
    const behind = b[2] > boxA[0] - 10 && b[0] < boxA[2] + 10;
    if (behind) hidden++;
    tracker.update(behind ? [person(boxA)] : [person(boxA), person(b)], 1000 + k * FRAME_MS);
    if (!behind) {
      const id = idAt(tracker, b);
      assert.ok(id !== undefined, `frame ${k}: B tracked`);
      idB ??= id;
      assert.equal(id, idB, `frame ${k}: B keeps its id after ${hidden} hidden frames`);
    }
  }
  assert.ok(hidden >= 8, `B was hidden ${hidden} frames`);
  assert.equal(tracker.active.length, 2, 'two objects, two tracks');
});

test('one bag whose label flickers (backpack, suitcase, handbag, two at once) is one track, labelled by vote', () => {
  const tracker = trackerWith({ minHits: 3 });
  const box = (k: number): Box => [200 + (k % 3), 300, 260 + (k % 3), 380]; // detector jitter
  const labels = ['backpack', 'suitcase', 'backpack', 'handbag', 'backpack', 'suitcase', 'backpack'] as const;
  const ids = new Set<number>();
  for (let k = 0; k < 40; k++) {
    const dets = [bag(labels[k % labels.length], box(k), 0.6)];
    // Per-class NMS: every few frames a second label on the same box.
    if (k % 4 === 1) dets.push(bag('suitcase', box(k), 0.45));
    const step = tracker.update(dets, 1000 + k * FRAME_MS);
    for (const t of step.matched) ids.add(t.id);
  }
  assert.equal(ids.size, 1, 'one track for the one bag');
  assert.equal(tracker.active.length, 1);
  assert.equal(tracker.active[0].label, 'backpack', 'the label most detections had');
  assert.equal(tracker.active[0].classId, 24);
  // Groups hold only look-alikes: a person on the bag's box is another object.
  tracker.update([bag('backpack', box(40)), person(box(40))], 5100);
  assert.equal(tracker.active.length, 2);
});

test('a stationary object does not churn: a parked car missed for 10 s keeps its track', () => {
  const tracker = trackerWith({ minHits: 3, lostSeconds: 2, stationaryLostSeconds: 30 });
  const box = (k: number): Box => [400 + (k % 2), 200, 560 + (k % 2), 300];
  const ids = new Set<number>();
  let time = 0;
  const frame = (dets: Detection[]) => tracker.update(dets, (time += FRAME_MS));
  for (let k = 0; k < 40; k++) for (const t of frame([car(box(k), k % 5 === 0 ? 0.2 : 0.8)]).matched) ids.add(t.id); // 4 s, score flickering
  for (let k = 0; k < 100; k++) assert.deepEqual(frame([]).ended, [], 'unseen 10 s: kept (stood still)');
  for (const t of frame([car(box(1), 0.8)]).matched) ids.add(t.id);
  assert.equal(ids.size, 1, 'the same car, one track');
  assert.ok(tracker.active[0].stationary);

  // A moving object is not stationary: it ends after lostSeconds.
  const walker = trackerWith({ minHits: 1, lostSeconds: 2, stationaryLostSeconds: 30 });
  let t2 = 0;
  for (let k = 0; k < 40; k++) walker.update([person([10 * k, 0, 10 * k + 50, 150])], (t2 += FRAME_MS));
  assert.equal(walker.active[0].stationary, false);
  let ended = 0;
  for (let k = 0; k < 20; k++) ended += walker.update([], (t2 += FRAME_MS)).ended.length;
  assert.equal(ended, 1, 'ended 2 s after it was last seen');
});

test('assigned: each detection of a frame names its track, a duplicate on the same box included', () => {
  const tracker = trackerWith({ minHits: 1 });
  const b: Box = [0, 0, 60, 80];
  tracker.update([bag('backpack', b)], 100);
  const dets = [bag('backpack', b), bag('suitcase', b, 0.5), person([300, 0, 350, 150], 0.05)];
  const step = tracker.update(dets, 200);
  const id = tracker.active[0].id;
  assert.equal(step.assigned.get(dets[0])?.id, id);
  assert.equal(step.assigned.get(dets[1])?.id, id, 'the second label on the same box is the same bag');
  assert.equal(step.assigned.get(dets[2]), undefined, 'below lowScore: no track');
  assert.equal(tracker.active.length, 1);
});

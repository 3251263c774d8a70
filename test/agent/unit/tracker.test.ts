import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Box } from '@kestrel/core/image/letterbox';
import type { Detection } from '@kestrel/core/detect/types';
import { Tracker } from '@kestrel/agent/track/tracker';

const person = (box: Box, score = 0.9): Detection => ({ classId: 0, label: 'person', score, box });
const car = (box: Box, score = 0.9): Detection => ({ classId: 2, label: 'car', score, box });
const FRAME_MS = 100;

/** The id of the live track whose box equals `box`. */
function idAt(tracker: Tracker, box: Box): number | undefined {
  return tracker.active.find((t) => t.missed === 0 && t.box.every((v, i) => v === box[i]))?.id;
}

test('two people crossing keep their ids (motion prediction, not last position, decides)', () => {
  const tracker = new Tracker({ minHits: 3, maxAge: 10 });
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

test('an object missing for fewer than maxAge frames keeps its id, even while moving', () => {
  const tracker = new Tracker({ minHits: 2, maxAge: 5 });
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
  assert.deepEqual(ended, [id], 'ends at the 5th missed frame');
  tracker.update([person(box(15))], (time += FRAME_MS));
  const again = idAt(tracker, box(15));
  assert.ok(again !== undefined && again !== id, 'a new life gets a new id');
});

test('minHits: a track is confirmed on its minHits-th match; a flicker never is', () => {
  const tracker = new Tracker({ minHits: 3 });
  const b: Box = [10, 10, 60, 110];
  assert.deepEqual(tracker.update([person(b)], 100).confirmed, []);
  assert.deepEqual(tracker.update([person(b)], 200).confirmed, []);
  const step = tracker.update([person(b)], 300);
  assert.equal(step.confirmed.length, 1);
  assert.equal(step.confirmed[0].hits, 3);
  assert.deepEqual(tracker.update([person(b)], 400).confirmed, [], 'confirmed once only');

  // A detection seen in one frame, then not: its tentative track dies without a trace.
  const flicker = new Tracker({ minHits: 2 });
  flicker.update([person(b)], 100);
  const gone = flicker.update([], 200);
  assert.deepEqual(gone.ended, [], 'unconfirmed tracks do not "end"');
  assert.equal(flicker.active.length, 0);
  flicker.update([person(b)], 300);
  assert.equal(flicker.update([person(b)], 400).confirmed.length, 1);
  assert.equal(flicker.active[0].id, 2, 'the flicker used id 1; the real object has its own');
  assert.equal(new Tracker({ minHits: 1 }).update([person(b)], 0).confirmed.length, 1, 'minHits 1 confirms at once');
});

test('association is per class: a car and a person in the same place are two objects', () => {
  const tracker = new Tracker({ minHits: 1 });
  const b: Box = [0, 0, 100, 100];
  tracker.update([person(b), car(b)], 100);
  const step = tracker.update([person(b), car(b)], 200);
  assert.equal(tracker.active.length, 2);
  assert.deepEqual(step.matched.map((t) => t.label).sort(), ['car', 'person']);
  assert.equal(new Set(step.matched.map((t) => t.id)).size, 2);
});

test('low-score detections keep a track alive (ByteTrack) but never start one', () => {
  const tracker = new Tracker({ minHits: 1, maxAge: 3, highScore: 0.5, lowScore: 0.1 });
  const b: Box = [0, 0, 100, 200];
  tracker.update([person(b, 0.9)], 100);
  const id = tracker.active[0].id;
  for (let k = 0; k < 6; k++) {
    const step = tracker.update([person(b, 0.25)], 200 + k * 100); // half occluded: weak, for longer than maxAge
    assert.deepEqual(step.ended, []);
  }
  assert.equal(tracker.active[0].id, id);
  assert.equal(tracker.active[0].score, 0.25, 'current score follows the detection');
  assert.equal(tracker.active[0].bestScore, 0.9, 'best score is kept');

  const fresh = new Tracker({ minHits: 1, highScore: 0.5, lowScore: 0.1 });
  fresh.update([person(b, 0.3)], 100);
  assert.equal(fresh.active.length, 0, 'a weak detection alone is not an object');
  fresh.update([person(b, 0.05)], 200);
  assert.equal(fresh.active.length, 0);
});

test('reset() hands back the confirmed tracks and forgets everything', () => {
  const tracker = new Tracker({ minHits: 2 });
  tracker.update([person([0, 0, 10, 10]), person([50, 50, 60, 60])], 100);
  tracker.update([person([0, 0, 10, 10])], 200);
  const ended = tracker.reset();
  assert.equal(ended.length, 1);
  assert.equal(tracker.active.length, 0);
});

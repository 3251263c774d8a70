import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Box } from '@kestrel/core/image/letterbox';
import { minCostAssignment } from '@kestrel/agent/track/assignment';
import { scoreTracking, type EvalFrame } from '@kestrel/agent/bench/track/metrics';

const A: Box = [0, 0, 10, 10];
const B: Box = [100, 0, 110, 10];
const at = (id: number, box: Box) => ({ id, box });

test('min-cost assignment: square, rectangular, forbidden pairs, most pairs first', () => {
  // 1 + 2 + 2 = 5 is the least total (a greedy pick of the 0 first would give 0 + 3 + 3 = 6 at best).
  assert.deepEqual(minCostAssignment([[4, 1, 3], [2, 0, 5], [3, 2, 2]]), [1, 0, 2]);
  assert.deepEqual(minCostAssignment([[1, 2, 3], [1, 5, 9]]), [1, 0], 'rectangular: 2 + 1 beats 1 + 5');
  assert.deepEqual(minCostAssignment([[Infinity, 1], [Infinity, 2]]), [1, -1], 'column 0 is forbidden to both');
  assert.deepEqual(minCostAssignment([[0.1, 0.6], [0.5, Infinity]]), [1, 0], 'two allowed pairs rather than one cheaper one');
  assert.deepEqual(minCostAssignment([[-3, -1], [-2, -4]]), [0, 1], 'negative costs (IDF1 maximises overlaps)');
  assert.deepEqual(minCostAssignment([]), []);
  assert.deepEqual(minCostAssignment([[], []]), [-1, -1]);
});

test('perfect tracking: MOTA 1, IDF1 1, nothing switched or cut', () => {
  const frames: EvalFrame[] = [0, 1, 2].map(() => ({ truth: [at(1, A), at(2, B)], tracks: [at(10, A), at(20, B)] }));
  const s = scoreTracking(frames);
  assert.deepEqual([s.mota, s.idf1, s.idSwitches, s.fragmentations, s.misses, s.falsePositives], [1, 1, 0, 0, 0, 0]);
  assert.deepEqual([s.trueObjects, s.trackIds, s.truthBoxes, s.trackBoxes], [2, 2, 6, 6]);
});

test('one object whose id changes halfway: 1 switch, MOTA 3/4, IDF1 1/2', () => {
  const frames: EvalFrame[] = [1, 1, 2, 2].map((id) => ({ truth: [at(1, A)], tracks: [at(id, A)] }));
  const s = scoreTracking(frames);
  assert.equal(s.idSwitches, 1);
  assert.equal(s.mota, 0.75);
  // IDTP 2 (the object pairs with one of the two ids), 4 true and 4 tracker boxes: 2·2 / 8.
  assert.equal(s.idf1, 0.5);
  assert.equal(s.fragmentations, 0);
});

test('a frame missed in the middle: 1 miss, 1 fragmentation, no switch; IDF1 8/9', () => {
  const frames: EvalFrame[] = [0, 1, 2, 3, 4].map((k) => ({ truth: [at(1, A)], tracks: k === 2 ? [] : [at(7, A)] }));
  const s = scoreTracking(frames);
  assert.deepEqual([s.misses, s.fragmentations, s.idSwitches], [1, 1, 0]);
  assert.equal(s.mota, 0.8);
  assert.equal(s.idf1, 8 / 9);
});

test('IoU below 0.5 is no match: a miss and a false positive', () => {
  // [5,0,15,10] over [0,0,10,10]: 50 / 150 = 1/3.
  const s = scoreTracking([{ truth: [at(1, A)], tracks: [at(1, [5, 0, 15, 10])] }]);
  assert.deepEqual([s.misses, s.falsePositives, s.idSwitches], [1, 1, 0]);
  assert.equal(s.mota, -1);
  assert.equal(s.idf1, 0);
});

test('a kept correspondence wins over a better-overlapping newcomer (CLEAR MOT): no switch, one false positive', () => {
  const frames: EvalFrame[] = [
    { truth: [at(1, A)], tracks: [at(1, A)] },
    // Track 1 still overlaps 0.6; track 2 overlaps 0.9 but the pair (1, 1) stands.
    { truth: [at(1, A)], tracks: [at(1, [0, 0, 10, 6]), at(2, [0, 0, 10, 9])] },
  ];
  const s = scoreTracking(frames);
  assert.deepEqual([s.idSwitches, s.falsePositives, s.misses], [0, 1, 0]);
  assert.equal(s.mota, 0.5);
});

test('two objects whose ids swap at a crossing: 2 switches, MOTA 3/4, IDF1 1/2', () => {
  const frames: EvalFrame[] = [0, 1, 2, 3].map((k) => ({ truth: [at(1, A), at(2, B)], tracks: k < 2 ? [at(1, A), at(2, B)] : [at(2, A), at(1, B)] }));
  const s = scoreTracking(frames);
  assert.equal(s.idSwitches, 2);
  assert.equal(s.mota, 0.75);
  assert.equal(s.idf1, 0.5);
});

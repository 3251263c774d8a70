import { test } from 'node:test';
import assert from 'node:assert/strict';
import { splitIds } from '@kestrel/trainer/data/split';

const ids = Array.from({ length: 100 }, (_, i) => `img_${i}.jpg`);

test('the same seed gives the same split, whatever order the ids come in', () => {
  const a = splitIds(ids, { seed: 42 });
  const b = splitIds([...ids].reverse(), { seed: 42 });
  assert.deepEqual(a, b);
  assert.notDeepEqual(splitIds(ids, { seed: 43 }).val, a.val);
});

test('splits are disjoint, cover every image and follow the ratios', () => {
  const s = splitIds(ids, { seed: 1, ratios: [0.7, 0.2, 0.1] });
  assert.equal(s.train.length, 70);
  assert.equal(s.val.length, 20);
  assert.equal(s.test.length, 10);
  assert.equal(new Set([...s.train, ...s.val, ...s.test]).size, 100);
});

test('tiny datasets still get one validation and one test image', () => {
  const s = splitIds(['a', 'b', 'c', 'd'], { seed: 0 });
  assert.equal(s.val.length, 1);
  assert.equal(s.test.length, 1);
  assert.equal(s.train.length, 2);
});

test('nonsense ratios are refused', () => {
  assert.throws(() => splitIds(ids, { ratios: [0, 1, 1] }), /train > 0/);
});

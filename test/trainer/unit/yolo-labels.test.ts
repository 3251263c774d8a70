import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatYoloLabels, parseYoloLabels } from '@kestrel/trainer/data/yolo-labels';
import { isKestrelError } from '@kestrel/core/util/errors';

test('YOLO lines become corner boxes and back', () => {
  const boxes = parseYoloLabels('0 0.5 0.5 0.2 0.4\n\n# comment\n2 0.1 0.2 0.1 0.2\n', 'a.txt', 3);
  assert.deepEqual(boxes.map((b) => b.classId), [0, 2]);
  assert.deepEqual(boxes[0].box.map((v) => Math.round(v * 1e6) / 1e6), [0.4, 0.3, 0.6, 0.7]);
  const again = parseYoloLabels(formatYoloLabels(boxes), 'b.txt', 3);
  assert.deepEqual(again.map((b) => b.classId), [0, 2]);
  again.forEach((b, i) => b.box.forEach((v, k) => assert.ok(Math.abs(v - boxes[i].box[k]) < 1e-6)));
});

for (const [name, text, pattern] of [
  ['too few fields', '0 0.5 0.5 0.2\n', /labels\/x\.txt:1: expected 5 fields/],
  ['a polygon instead of a box', '0 0.1 0.1 0.2 0.1 0.2 0.2\n', /:1: .*segmentation polygon/],
  ['a word where a number belongs', '0 0.5 0.5 0.2 0.2\n1 0.5 abc 0.2 0.2\n', /labels\/x\.txt:2: field 3 "abc" is not a number/],
  ['a class out of range', '\n\n7 0.5 0.5 0.2 0.2\n', /labels\/x\.txt:3: class 7 is not an integer in 0\.\.2/],
  ['a zero-size box', '1 0.5 0.5 0 0.2\n', /:1: box width and height must be > 0/],
  ['pixel coordinates', '1 320 240 50 60\n', /:1: coordinates must be normalised/],
] as const) {
  test(`a broken label file names the file and line: ${name}`, () => {
    assert.throws(() => parseYoloLabels(text, 'labels/x.txt', 3), (err: unknown) => isKestrelError(err) && err.code === 'E_DATASET_LABEL' && pattern.test(err.message));
  });
}

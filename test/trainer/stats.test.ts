import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync, copyFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { loadDataset } from '@kestrel/trainer/data/dataset';
import { datasetStats, formatStats } from '@kestrel/trainer/data/stats';
import { tempDir } from './support/tmp.js';

test('stats count boxes per class, box sizes, duplicates and boxes outside the image', async () => {
  const root = tempDir();
  mkdirSync(join(root, 'images'));
  mkdirSync(join(root, 'labels'));
  await sharp({ create: { width: 100, height: 100, channels: 3, background: '#444' } }).png().toFile(join(root, 'images/a.png'));
  await sharp({ create: { width: 200, height: 100, channels: 3, background: '#555' } }).png().toFile(join(root, 'images/b.png'));
  copyFileSync(join(root, 'images/a.png'), join(root, 'images/a_copy.png'));
  writeFileSync(join(root, 'labels/a.txt'), '0 0.5 0.5 0.2 0.2\n0 0.2 0.2 0.1 0.1\n');
  // 0.95 ± 0.1 reaches past the right edge.
  writeFileSync(join(root, 'labels/b.txt'), '1 0.95 0.5 0.2 0.5\n');
  writeFileSync(join(root, 'dataset.json'), JSON.stringify({ schema: 1, name: 'mini', classes: ['cat', 'dog', 'bird'], splits: { train: ['a.png', 'b.png'], val: ['a_copy.png'] } }));
  const s = await datasetStats(loadDataset(root));
  assert.equal(s.images, 3);
  assert.equal(s.boxes, 3);
  assert.deepEqual(s.classes.map((c) => [c.name, c.boxes, c.images]), [['cat', 2, 1], ['dog', 1, 1], ['bird', 0, 0]]);
  assert.deepEqual(s.emptyClasses, ['bird']);
  assert.equal(s.imbalance, null);
  assert.equal(s.imagesWithoutBoxes, 1);
  assert.deepEqual(s.duplicates, [['a.png', 'a_copy.png']]);
  assert.equal(s.outsideImage.length, 1);
  assert.equal(s.outsideImage[0].id, 'b.png');
  // √area in pixels: 10 (a small), 20 (a), √(40·50) ≈ 44.7 (b).
  assert.deepEqual([s.boxSize.min, s.boxSize.median, s.boxSize.max], [10, 20, 44.7]);
  assert.deepEqual([s.boxSize.small, s.boxSize.medium, s.boxSize.large], [2, 1, 0]);
  assert.deepEqual(s.splits, { train: 2, val: 1, test: 0 });
  assert.match(formatStats(s), /duplicate images: a\.png = a_copy\.png/);
});

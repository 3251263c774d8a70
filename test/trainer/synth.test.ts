import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { FACTORY_CLASSES, renderFactoryScene, synthFactoryDataset } from '@kestrel/trainer/data/synth/factory';
import { loadDataset } from '@kestrel/trainer/data/dataset';
import { tempDir } from './support/tmp.js';

test('the synthetic factory set is identical for the same seed, and different for another', async () => {
  const a = tempDir(), b = tempDir(), c = tempDir();
  await synthFactoryDataset(a, { count: 4, seed: 5, size: 160 });
  await synthFactoryDataset(b, { count: 4, seed: 5, size: 160 });
  await synthFactoryDataset(c, { count: 4, seed: 6, size: 160 });
  for (const f of readdirSync(join(a, 'images'))) assert.deepEqual(readFileSync(join(a, 'images', f)), readFileSync(join(b, 'images', f)), f);
  for (const f of readdirSync(join(a, 'labels'))) assert.equal(readFileSync(join(a, 'labels', f), 'utf8'), readFileSync(join(b, 'labels', f), 'utf8'));
  assert.notDeepEqual(readFileSync(join(a, 'images/frame_00000.jpg')), readFileSync(join(c, 'images/frame_00000.jpg')));
  const ds = loadDataset(a);
  assert.deepEqual(ds.classes, [...FACTORY_CLASSES]);
  assert.equal(ds.splits.train.length + ds.splits.val.length + ds.splits.test.length, 4);
});

test('frame i does not depend on how many frames are made', () => {
  assert.deepEqual(renderFactoryScene(3, 7, 128).boxes, renderFactoryScene(3, 7, 128).boxes);
  assert.deepEqual(renderFactoryScene(3, 7, 128).data, renderFactoryScene(3, 7, 128).data);
});

test('every frame has parts, every defect lies on a part, and all defect classes occur', () => {
  const seen = new Set<number>();
  for (let i = 0; i < 40; i++) {
    const s = renderFactoryScene(1, i, 160);
    const parts = s.boxes.filter((b) => b.classId === 0);
    assert.ok(parts.length >= 1, `frame ${i} has a part`);
    for (const b of s.boxes) {
      seen.add(b.classId);
      assert.ok(b.box[0] >= 0 && b.box[1] >= 0 && b.box[2] <= 160 && b.box[3] <= 160 && b.box[2] > b.box[0] && b.box[3] > b.box[1]);
      if (b.classId === 0) continue;
      const cx = (b.box[0] + b.box[2]) / 2, cy = (b.box[1] + b.box[3]) / 2;
      assert.ok(parts.some((p) => cx >= p.box[0] && cx <= p.box[2] && cy >= p.box[1] && cy <= p.box[3]), `defect ${b.classId} in frame ${i} sits on a part`);
    }
  }
  assert.deepEqual([...seen].sort(), [0, 1, 2, 3, 4]);
});

test('defects are visible: their pixels differ from the part around them', () => {
  let checked = 0;
  for (let i = 0; i < 30 && checked < 10; i++) {
    const s = renderFactoryScene(2, i, 320);
    for (const b of s.boxes.filter((x) => x.classId === 2 || x.classId === 3)) {
      const [x1, y1, x2, y2] = b.box.map(Math.round);
      let min = 255, max = 0;
      for (let y = y1; y < y2; y++) for (let x = x1; x < x2; x++) {
        const o = (y * 320 + x) * 3;
        const v = (s.data[o] + s.data[o + 1] + s.data[o + 2]) / 3;
        min = Math.min(min, v);
        max = Math.max(max, v);
      }
      assert.ok(max - min > 25, `dent/discolouration in frame ${i} has contrast ${max - min}`);
      checked++;
    }
  }
  assert.ok(checked > 0);
});

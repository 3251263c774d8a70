// Augmentation must move boxes exactly with the pixels: each test paints a solid rectangle,
// transforms the picture, and checks that the transformed box still encloses that colour.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Sample } from '@kestrel/trainer/data/types';
import { flipHorizontal, flipVertical, letterboxTransform, warpSample } from '@kestrel/trainer/data/augment/geometry';
import { mosaic } from '@kestrel/trainer/data/augment/mosaic';
import { augmentSample, DEFAULT_AUGMENT } from '@kestrel/trainer/data/augment/pipeline';
import { createRng } from '@kestrel/trainer/data/rng';
import { cropSample } from '@kestrel/trainer/data/augment/crop';

function picture(w: number, h: number, rect: [number, number, number, number], colour: [number, number, number], classId = 0): Sample {
  const data = new Uint8Array(w * h * 3).fill(40);
  for (let y = rect[1]; y < rect[3]; y++) for (let x = rect[0]; x < rect[2]; x++) data.set(colour, (y * w + x) * 3);
  return { width: w, height: h, data, boxes: [{ classId, box: [...rect] }] };
}

/** Share of the pixels inside `box` (shrunk by a pixel for resampling edges) that have the colour. */
function colourShare(s: Sample, box: [number, number, number, number], colour: [number, number, number]): number {
  let hit = 0, n = 0;
  for (let y = Math.ceil(box[1] + 1); y < Math.floor(box[3] - 1); y++) {
    for (let x = Math.ceil(box[0] + 1); x < Math.floor(box[2] - 1); x++) {
      const o = (y * s.width + x) * 3;
      n++;
      if (Math.abs(s.data[o] - colour[0]) < 30 && Math.abs(s.data[o + 1] - colour[1]) < 30 && Math.abs(s.data[o + 2] - colour[2]) < 30) hit++;
    }
  }
  return n > 0 ? hit / n : 0;
}

test('a left-right flip mirrors the box: x1 becomes width − x2', () => {
  const s = flipHorizontal(picture(100, 60, [10, 20, 30, 50], [255, 0, 0]));
  assert.deepEqual(s.boxes[0].box, [70, 20, 90, 50]);
  assert.equal(colourShare(s, s.boxes[0].box, [255, 0, 0]), 1);
});

test('a top-bottom flip mirrors the box: y1 becomes height − y2', () => {
  const s = flipVertical(picture(100, 60, [10, 5, 30, 25], [0, 255, 0]));
  assert.deepEqual(s.boxes[0].box, [10, 35, 30, 55]);
  assert.equal(colourShare(s, s.boxes[0].box, [0, 255, 0]), 1);
});

test('letterbox, zoom and shift keep the box on the object', () => {
  const src = picture(200, 100, [120, 30, 170, 80], [0, 0, 255]);
  const base = letterboxTransform(200, 100, 128);
  assert.deepEqual(base, { sx: 0.64, sy: 0.64, tx: 0, ty: 32 });
  const s = warpSample(src, 128, { sx: 0.9, sy: 0.9, tx: -10, ty: 20 });
  const [x1, y1, x2, y2] = s.boxes[0].box;
  // 170·0.9 − 10 = 143 lies past the 128-pixel frame: the box is clipped there.
  assert.deepEqual([x1, y1, x2, y2].map((v) => Math.round(v * 100) / 100), [98, 47, 128, 92]);
  assert.ok(colourShare(s, s.boxes[0].box, [0, 0, 255]) > 0.97);
});

test('a box pushed mostly out of the frame is dropped, a partly visible one is clipped', () => {
  const src: Sample = { ...picture(100, 100, [0, 0, 20, 20], [255, 0, 0]), boxes: [{ classId: 0, box: [0, 0, 20, 20] }, { classId: 1, box: [40, 40, 80, 80] }] };
  const s = warpSample(src, 100, { sx: 1, sy: 1, tx: -15, ty: -50 });
  assert.deepEqual(s.boxes, [{ classId: 1, box: [25, 0, 65, 30] }]);
});

test('mosaic puts four images in one frame and every box still covers its object', () => {
  const colours: Array<[number, number, number]> = [[255, 0, 0], [0, 255, 0], [0, 0, 255], [255, 255, 0]];
  const tiles = colours.map((c, k) => picture(120, 90, [30 + k * 5, 20, 80 + k * 5, 70], c, k)) as [Sample, Sample, Sample, Sample];
  for (let seed = 0; seed < 5; seed++) {
    const s = mosaic(tiles, 160, createRng(seed));
    assert.ok(s.boxes.length >= 1, 'at least one object survives');
    for (const b of s.boxes) {
      assert.ok(b.box[0] >= 0 && b.box[1] >= 0 && b.box[2] <= 160 && b.box[3] <= 160, 'inside the frame');
      assert.ok(colourShare(s, b.box, colours[b.classId]) > 0.95, `class ${b.classId} box covers its colour (seed ${seed})`);
    }
  }
});

test('a crop keeps objects at their scale and their boxes on them', () => {
  const src = picture(200, 200, [120, 130, 170, 180], [200, 40, 220]);
  for (let seed = 0; seed < 6; seed++) {
    const c = cropSample(src, { size: 96, objectBias: 1 }, createRng(seed));
    assert.equal(c.width, 96);
    assert.equal(c.boxes.length, 1, 'an object-centred crop contains its object');
    const [x1, y1, x2, y2] = c.boxes[0].box;
    assert.ok(x2 - x1 <= 50 && y2 - y1 <= 50, 'no rescaling');
    assert.ok(colourShare(c, c.boxes[0].box, [200, 40, 220]) > 0.97);
  }
});

test('the full pipeline is reproducible by seed and keeps boxes on objects', () => {
  const src = picture(160, 120, [40, 30, 110, 90], [250, 250, 250]);
  const a = augmentSample(src, 128, createRng(9), { ...DEFAULT_AUGMENT, mosaic: 0, colour: 0 });
  const b = augmentSample(src, 128, createRng(9), { ...DEFAULT_AUGMENT, mosaic: 0, colour: 0 });
  assert.deepEqual(a.boxes, b.boxes);
  assert.deepEqual(a.data, b.data);
  assert.ok(colourShare(a, a.boxes[0].box, [250, 250, 250]) > 0.97);
});

test('cropping while warping resamples only the window, flipped or not, and keeps boxes on objects', () => {
  // An asymmetric object (colour on its left half only) shows whether a flip moved pixels and box together.
  const src = picture(200, 200, [110, 120, 170, 170], [30, 220, 60]);
  for (let y = 120; y < 170; y++) for (let x = 140; x < 170; x++) src.data.set([220, 40, 200], (y * 200 + x) * 3);
  let flipped = 0;
  let checked = 0;
  for (let seed = 0; seed < 16; seed++) {
    const o = { ...DEFAULT_AUGMENT, mosaic: 0, colour: 0, flipLR: 0.5 };
    const s = augmentSample(src, 200, createRng(seed), o, undefined, { size: 96, objectBias: 1 });
    assert.equal(s.width, 96);
    assert.equal(s.data.length, 96 * 96 * 3);
    assert.equal(s.boxes.length, 1, `seed ${seed}: the window holds its object`);
    const [x1, y1, x2, y2] = s.boxes[0].box;
    if (x1 < 1 || x2 > 95) continue; // cut by the window's edge: the halves are unequal
    checked++;
    const mid = (x1 + x2) / 2;
    const left = colourShare(s, [x1, y1, mid, y2], [30, 220, 60]);
    const right = colourShare(s, [mid, y1, x2, y2], [30, 220, 60]);
    assert.ok(Math.max(left, right) > 0.9, `seed ${seed}: one half of the box is the green half of the object`);
    if (right > left) flipped++;
  }
  assert.ok(checked >= 6, `${checked} whole objects checked`);
  assert.ok(flipped > 0 && flipped < checked, 'some crops were flipped, some not');
});

test('without zoom, shifts are whole pixels: edges stay sharp as the camera delivers them', () => {
  const src = picture(160, 160, [50, 60, 90, 75], [250, 250, 250]);
  for (let seed = 0; seed < 5; seed++) {
    const s = augmentSample(src, 160, createRng(seed), { ...DEFAULT_AUGMENT, mosaic: 0, scale: 0, colour: 0, translate: 0.2 });
    const [x1, y1, x2, y2] = s.boxes[0].box;
    assert.ok([x1, y1, x2, y2].every(Number.isInteger), `seed ${seed}: box ${s.boxes[0].box} on whole pixels`);
    // Every pixel is either the object's or the background's: no blended edge pixels.
    for (let i = 0; i < s.data.length; i++) assert.ok(s.data[i] === 250 || s.data[i] === 40 || s.data[i] === 114, `seed ${seed}: pixel value ${s.data[i]}`);
  }
});

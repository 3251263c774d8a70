import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findCalibrationImages, splitHeldOut, evenlySpaced } from '@kestrel/quantize/calib/images';

function tempDir(): string {
  return mkdtempSync(join(tmpdir(), 'kestrel-calib-'));
}

test('calibration images are found recursively, by extension, in a stable order', async (t) => {
  const dir = tempDir();
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  mkdirSync(join(dir, 'b', 'deep'), { recursive: true });
  for (const f of ['z.JPG', 'a.png', 'b/deep/c.jpeg', 'notes.txt', 'b/x.webp']) writeFileSync(join(dir, f), 'x');
  const found = await findCalibrationImages(dir);
  assert.equal(found.kind, 'images');
  assert.deepEqual(found.images, [join(dir, 'a.png'), join(dir, 'b/deep/c.jpeg'), join(dir, 'z.JPG')]);
});

test('a folder holding index.sqlite is the agent frames buffer; the index file itself works too', async (t) => {
  const dir = tempDir();
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  mkdirSync(join(dir, '2026-01-01'));
  writeFileSync(join(dir, 'index.sqlite'), '');
  writeFileSync(join(dir, '2026-01-01', 'cam1-0001.jpg'), 'x');
  const byDir = await findCalibrationImages(dir);
  assert.equal(byDir.kind, 'frames');
  assert.deepEqual(byDir.images, [join(dir, '2026-01-01', 'cam1-0001.jpg')]);
  const byIndex = await findCalibrationImages(join(dir, 'index.sqlite'));
  assert.equal(byIndex.kind, 'frames');
  assert.equal(byIndex.root, dir);
});

test('an empty or missing calibration folder is a clear error naming it', async (t) => {
  const dir = tempDir();
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'readme.txt'), 'no images here');
  await assert.rejects(findCalibrationImages(dir), (e: Error & { code?: string }) => e.code === 'E_CALIB_EMPTY' && e.message.includes(dir));
  await assert.rejects(findCalibrationImages(join(dir, 'nope')), (e: Error & { code?: string }) => e.code === 'E_CALIB_MISSING' && e.message.includes('nope'));
  await assert.rejects(findCalibrationImages(join(dir, 'readme.txt')), (e: Error & { code?: string }) => e.code === 'E_CALIB_NOT_FOLDER');
});

test('every 5th image is held out for the agreement check, never calibrated on', () => {
  const images = Array.from({ length: 12 }, (_, i) => `f${i}.jpg`);
  const { calibration, heldOut } = splitHeldOut(images);
  assert.deepEqual(heldOut, ['f4.jpg', 'f9.jpg']);
  assert.equal(calibration.length, 10);
  assert.ok(heldOut.every((h) => !calibration.includes(h)));
  // Two images: one of each. One image: nothing to hold out.
  assert.deepEqual(splitHeldOut(['a', 'b']), { calibration: ['a'], heldOut: ['b'] });
  assert.deepEqual(splitHeldOut(['a']), { calibration: ['a'], heldOut: [] });
  assert.deepEqual(evenlySpaced([0, 1, 2, 3, 4, 5, 6, 7, 8, 9], 5), [0, 2, 4, 6, 8]);
});

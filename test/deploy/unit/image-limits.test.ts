// What the hub learns of a JPEG before decoding it (its header's size, checked against the pixel
// cap), and the bound on decodes at once. Real JPEGs from sharp: baseline, progressive, with EXIF
// ahead of the frame header, and damaged ones.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import sharp from 'sharp';
import { checkJpegHeader, decodeJpeg } from '@kestrel/deploy';
import { readJpegHeader } from '../../../deploy/src/hub/jpeg-header.js';
import { DecodeSlots } from '../../../deploy/src/hub/decode-slots.js';

const jpeg = (width: number, height: number, options: sharp.JpegOptions = {}) =>
  sharp({ create: { width, height, channels: 3, background: { r: 40, g: 90, b: 160 } } }).jpeg(options).withMetadata({ orientation: 1 }).toBuffer();

test('the header walk reads the frame size of baseline and progressive JPEGs, past EXIF and other segments', async () => {
  assert.deepEqual(readJpegHeader(await jpeg(640, 360)), { ok: true, width: 640, height: 360 });
  assert.deepEqual(readJpegHeader(await jpeg(33, 4097, { progressive: true })), { ok: true, width: 33, height: 4097 });
  const withExif = await sharp(await jpeg(320, 240)).withExif({ IFD0: { Copyright: 'x'.repeat(3000) } }).jpeg().toBuffer();
  assert.ok(withExif.indexOf(Buffer.from('Exif')) > 0, 'the test image carries an EXIF segment');
  assert.deepEqual(readJpegHeader(withExif), { ok: true, width: 320, height: 240 });
});

test('damaged or foreign bytes are refused by the header walk with a reason, never read out of bounds', async () => {
  const good = await jpeg(64, 64);
  const sof = good.findIndex((b, i) => b === 0xff && good[i + 1] === 0xc0);
  assert.match(readJpegHeader(good.subarray(0, sof)).ok ? '' : (readJpegHeader(good.subarray(0, sof)) as { reason: string }).reason, /ends before its frame header/);
  const png = await sharp({ create: { width: 8, height: 8, channels: 3, background: 'red' } }).png().toBuffer();
  assert.equal(readJpegHeader(png).ok, false);
  const zeroHeight = Buffer.from(good);
  zeroHeight[sof + 5] = 0;
  zeroHeight[sof + 6] = 0;
  assert.match((readJpegHeader(zeroHeight) as { reason: string }).reason, /size of 64×0/);
  const badLength = Buffer.from(good);
  badLength[4] = 0;
  badLength[5] = 1;
  assert.match((readJpegHeader(badLength) as { reason: string }).reason, /length 1/);
  // Every prefix of a real JPEG: an answer, not an exception.
  for (let n = 0; n < sof + 12; n++) readJpegHeader(good.subarray(0, n));
});

test('an image over the pixel cap is refused from its header alone; one under it decodes to the size its header gave', async () => {
  const big = await jpeg(7000, 7000);
  const refused = checkJpegHeader(big, 4096 * 4096);
  assert.equal(refused.ok, false);
  assert.match((refused as { reason: string }).reason, /7000×7000 is 49000000 pixels; this hub takes images up to 16777216 pixels \(limits\.maxImagePixels\)/);
  const small = await jpeg(800, 600);
  assert.deepEqual(checkJpegHeader(small, 4096 * 4096), { ok: true, info: { width: 800, height: 600 } });
  assert.deepEqual(await decodeJpeg(small, 4096 * 4096), { ok: true, info: { width: 800, height: 600 } });
  const truncated = small.subarray(0, Math.floor(small.length * 0.6));
  assert.equal(checkJpegHeader(truncated, 4096 * 4096).ok, true, 'the header of a truncated file is still whole');
  assert.match((await decodeJpeg(truncated, 4096 * 4096) as { reason: string }).reason, /not a readable JPEG/);
});

test('decode slots: at most N run at once, M wait, and the rest are refused and counted', async () => {
  const slots = new DecodeSlots(2, 1);
  let running = 0;
  let peak = 0;
  const releases: (() => void)[] = [];
  const work = () =>
    new Promise<string>((resolve) => {
      running += 1;
      peak = Math.max(peak, running);
      releases.push(() => {
        running -= 1;
        resolve('done');
      });
    });
  const runs = [slots.run(work), slots.run(work), slots.run(work), slots.run(work), slots.run(work)];
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(slots.stats(), { running: 2, waiting: 1, refused: 2 });
  assert.equal(await runs[3], undefined, 'the fourth found the line full');
  while (releases.length) {
    releases.shift()!();
    await new Promise((r) => setImmediate(r));
  }
  assert.deepEqual(await Promise.all(runs), [{ value: 'done' }, { value: 'done' }, { value: 'done' }, undefined, undefined]);
  assert.equal(peak, 2, 'never more than two at once');
  assert.deepEqual(slots.stats(), { running: 0, waiting: 0, refused: 2 });
  // A failing decode frees its slot too.
  await assert.rejects(slots.run(() => Promise.reject(new Error('boom'))), /boom/);
  assert.equal(slots.stats().running, 0);
});

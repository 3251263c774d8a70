// Snapshots without a camera: which picture is an object's best, when a JPEG is made, how many
// are kept, what is dropped and counted, and how a picture is drawn on and cropped.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import sharp from 'sharp';
import { createLogger, letterboxGeometry, type Box } from '@kestrel/core';
import { cameraSchema } from '@kestrel/config/schema/camera';
import { CameraSnapshots, better, cutByEdge, renderSnapshot, type SnapshotOutlet } from '@kestrel/agent/snapshots/index';
import type { Frame } from '@kestrel/agent/source/types';

const quiet = createLogger('test', { level: 'silent' });
const geometry = letterboxGeometry(1280, 720, 416, 416);

/** A letterboxed frame whose picture is grey at `level` (padding 114), as the source hands it on. */
function frame(level: number, capturedAt: number): Frame {
  const data = new Uint8Array(416 * 416 * 3).fill(114);
  for (let y = geometry.padY; y < geometry.padY + geometry.scaledHeight; y++) data.fill(level, y * 416 * 3, (y + 1) * 416 * 3);
  return { camera: 'door', seq: capturedAt, data, width: 416, height: 416, geometry, capturedAt };
}

function snapshotConfig(over: Record<string, unknown> = {}) {
  return cameraSchema({ baseDir: '/', cwd: '/', deviceId: 't', stateDir: '/' }).parse({ name: 'door', source: { type: 'demo' }, snapshots: over }).snapshots;
}

function recorder(): SnapshotOutlet & { published: { label: string; jpeg: Buffer }[]; uploaded: string[] } {
  const published: { label: string; jpeg: Buffer }[] = [];
  const uploaded: string[] = [];
  return { published, uploaded, publish: (_camera, label, jpeg) => published.push({ label, jpeg }), upload: (s) => uploaded.push(s.trackId) };
}

const inside: Box = [400, 200, 600, 600];

test('the best picture: a whole object beats a cut one, then a clearly higher score, then a much larger box', () => {
  assert.equal(cutByEdge(inside, 1280, 720), false);
  assert.equal(cutByEdge([0, 200, 200, 600], 1280, 720), true, 'touches the left edge');
  assert.equal(cutByEdge([400, 200, 600, 720], 1280, 720), true, 'runs off the bottom');
  const kept = { score: 0.6, box: inside, cut: false };
  assert.equal(better({ score: 0.9, box: inside, cut: true }, kept), false, 'a cut object never replaces a whole one');
  assert.equal(better({ score: 0.4, box: inside, cut: false }, { ...kept, cut: true }), true, 'a whole one replaces a cut one');
  assert.equal(better({ score: 0.63, box: inside, cut: false }, kept), false, 'a little higher is not worth a JPEG');
  assert.equal(better({ score: 0.66, box: inside, cut: false }, kept), true);
  assert.equal(better({ score: 0.6, box: [300, 100, 700, 700], cut: false }, kept), true, 'the same score, twice the box');
  assert.equal(better(kept, undefined), true);
});

test('one JPEG per better picture, published each time; kept after the end within retain.count; found by id and by label', async () => {
  const outlet = recorder();
  const snaps = new CameraSnapshots('door', snapshotConfig({ retain: { count: 2 }, upload: true, drawBox: false }), outlet, quiet);
  const at = (i: number) => 1_000 + i * 100;
  snaps.consider(frame(50, at(0)), [{ trackId: 'a', label: 'person', score: 0.5, box: inside }], []);
  await snaps.settled();
  snaps.consider(frame(60, at(1)), [{ trackId: 'a', label: 'person', score: 0.52, box: inside }], []);
  await snaps.settled();
  snaps.consider(frame(200, at(2)), [{ trackId: 'a', label: 'person', score: 0.7, box: inside }], [{ label: 'person', score: 0.7, box: inside }]);
  await snaps.settled();
  assert.equal(snaps.counters.encoded, 2, 'the 0.52 picture was not encoded');
  assert.equal(outlet.published.length, 2);
  const best = snaps.find('a')!;
  assert.equal(best.score, 0.7);
  assert.equal(best.frameTime, at(2));
  assert.deepEqual(best.imageSize, [416, 234]);
  assert.deepEqual(best.detections, [{ label: 'person', score: 0.7, box: inside }]);
  // The picture is the frame's picture region: grey 200, no padding.
  const { data, info } = await sharp(best.jpeg).raw().toBuffer({ resolveWithObject: true });
  assert.deepEqual([info.width, info.height], [416, 234]);
  assert.ok(Math.abs(data[0]! - 200) <= 2 && Math.abs(data[data.length - 1]! - 200) <= 2);
  assert.equal(snaps.find('person'), best, 'by label: the latest object of it');

  // Ends: uploaded once each, kept for the route, the oldest gone beyond retain.count.
  for (const id of ['b', 'c']) {
    snaps.consider(frame(80, at(3)), [{ trackId: id, label: 'car', score: 0.8, box: inside }], []);
    await snaps.settled();
  }
  for (const id of ['a', 'b', 'c']) snaps.end(id);
  assert.deepEqual(outlet.uploaded, ['a', 'b', 'c']);
  assert.equal(snaps.find('a'), undefined, 'the oldest of three ended went beyond retain.count 2');
  assert.equal(snaps.find('c')?.trackId, 'c');
  assert.equal(snaps.find('car')?.trackId, 'c', 'the most recently ended car');
  assert.deepEqual(snaps.stats(), { encoded: 4, droppedBusy: 0, failed: 0, open: 0, kept: 2 });
});

test('better pictures that arrive while the encoder is busy are dropped and counted, never queued', async () => {
  const snaps = new CameraSnapshots('door', snapshotConfig(), recorder(), quiet);
  const many = ['a', 'b', 'c', 'd'].map((trackId) => ({ trackId, label: 'person', score: 0.9, box: inside }));
  snaps.consider(frame(90, 1), many, []);
  assert.equal(snaps.counters.droppedBusy, 2, 'two encodes at once per camera');
  await snaps.settled();
  assert.equal(snaps.counters.encoded, 2);
  // An object whose picture is being encoded: the next frame compares with that picture, not with nothing.
  snaps.consider(frame(90, 2), [{ trackId: 'c', label: 'person', score: 0.9, box: inside }], []);
  snaps.consider(frame(90, 3), [{ trackId: 'c', label: 'person', score: 0.99, box: inside }], []);
  assert.equal(snaps.counters.droppedBusy, 3);
  await snaps.settled();
  // The end waits for the encode in progress; with upload off nothing is uploaded.
  snaps.end('c');
  await new Promise((r) => setImmediate(r));
  assert.equal(snaps.find('c')?.score, 0.9);
});

test('drawn and cropped: the box in the box colour, the crop around the object with a margin', async () => {
  const jpeg = await sharp({ create: { width: 416, height: 234, channels: 3, background: { r: 20, g: 20, b: 20 } } }).jpeg({ quality: 95 }).toBuffer();
  // Source box 400..600 × 200..600 is 130..195 × 65..195 in the 416×234 picture.
  const picture = { jpeg, imageSize: [416, 234] as [number, number], frameSize: [1280, 720] as [number, number], box: inside };
  assert.equal(await renderSnapshot(picture, { drawBox: false, crop: false, quality: 70 }), jpeg, 'nothing to draw: the clean JPEG as it is');
  const boxed = await sharp(await renderSnapshot(picture, { drawBox: true, crop: false, quality: 95 })).raw().toBuffer({ resolveWithObject: true });
  const px = (x: number, y: number) => Array.from(boxed.data.subarray((y * 416 + x) * 3, (y * 416 + x) * 3 + 3));
  assert.ok(px(160, 66)[0]! > 180 && px(160, 66)[0]! - px(160, 66)[2]! > 100, `top edge drawn: ${px(160, 66)}`);
  assert.ok(px(160, 120)[0]! < 40, 'inside the box untouched');
  const cropped = await sharp(await renderSnapshot(picture, { drawBox: false, crop: true, quality: 70 })).metadata();
  // 65 × 130 picture pixels, a quarter of each side beyond it, within the picture.
  assert.deepEqual([cropped.width, cropped.height], [98, 195]);
});

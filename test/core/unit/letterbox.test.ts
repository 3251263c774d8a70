import { test } from 'node:test';
import assert from 'node:assert/strict';
import { letterboxGeometry, letterboxBox, unletterboxBox, rgbToTensor, parseMetadata, metadataToProps, type KestrelMetadata } from '@kestrel/core';

test('a wide source is scaled to the input width and padded evenly top and bottom', () => {
  const g = letterboxGeometry(1280, 720, 416, 416);
  assert.equal(g.scaledWidth, 416);
  assert.equal(g.scaledHeight, 234);
  assert.equal(g.padX, 0);
  assert.equal(g.padY, 90);
  assert.equal(416 - g.scaledHeight - g.padY, 92); // the rest goes to the bottom; offsets stay even
});

test('boxes survive letterbox then un-letterbox, and are clipped to the source', () => {
  for (const [w, h] of [[1280, 720], [451, 300], [300, 600], [416, 416]]) {
    const g = letterboxGeometry(w, h, 416, 416);
    const box: [number, number, number, number] = [w * 0.1, h * 0.2, w * 0.7, h * 0.9];
    const back = unletterboxBox(letterboxBox(box, g), g);
    back.forEach((v, i) => assert.ok(Math.abs(v - box[i]) < 1e-6, `${w}x${h} box[${i}]`));
  }
  const g = letterboxGeometry(1280, 720, 416, 416);
  assert.deepEqual(unletterboxBox([-5, 0, 500, 416], g), [0, 0, 1280, 720]);
});

test('stretching (no letterbox) maps each axis on its own', () => {
  const g = letterboxGeometry(640, 480, 320, 320, false);
  assert.deepEqual(unletterboxBox([0, 0, 320, 320], g), [0, 0, 640, 480]);
});

test('preprocessing puts channels in the model colour order and normalises', () => {
  const spec = { width: 2, height: 1, layout: 'NCHW' as const, colour: 'BGR' as const, mean: [10, 20, 30] as [number, number, number], std: [2, 4, 5] as [number, number, number], letterbox: true };
  // two pixels RGB: (100, 50, 0) and (0, 100, 200)
  const t = rgbToTensor(Uint8Array.from([100, 50, 0, 0, 100, 200]), spec);
  // channel 0 = B: (0-10)/2, (200-10)/2 ; channel 1 = G: (50-20)/4, (100-20)/4 ; channel 2 = R: (100-30)/5, (0-30)/5
  assert.deepEqual(Array.from(t), [-5, 95, 7.5, 20, 14, -6]);
  assert.throws(() => rgbToTensor(new Uint8Array(5), spec), /expected 6/);
});

test('metadata round-trips through kestrel.* props, and missing fields are named', () => {
  const meta: KestrelMetadata = {
    decoder: 'nanodet', labels: ['a', 'b'], strides: [8, 16], regMax: 7, version: '2', name: 'm',
    input: { width: 320, height: 320, layout: 'NCHW', colour: 'BGR', mean: [1, 2, 3], std: [4, 5, 6], letterbox: true, padValue: 0 },
  };
  assert.deepEqual(parseMetadata(metadataToProps(meta)), meta);
  assert.throws(() => parseMetadata({}), /decoder.*labels.*input size/);
  assert.throws(() => parseMetadata({ 'kestrel.labels': '[oops' }), /kestrel.labels is not valid JSON/);
  const filled = parseMetadata({}, { decoder: 'yolov8', labels: ['x'], input: { ...meta.input, width: 640, height: 640 } });
  assert.equal(filled.decoder, 'yolov8');
});

// Model metadata is input from whoever made the model: sizes that would exhaust a device,
// normalisation that would make every input infinite and malformed fields are refused by name.
// And a model whose outputs are not finite fails its inference instead of finding nothing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import sharp from 'sharp';
import { DEFAULT_PAD_VALUE, defaultInputSpec, Detector, MAX_INPUT_PIXELS, parseMetadata, type KestrelMetadata } from '@kestrel/core';
import { nanDetector } from '../../agent/support/update-kit.js';

const props = (input: Record<string, unknown>, extra: Record<string, string> = {}) => ({
  'kestrel.decoder': 'yolov8',
  'kestrel.labels': '["thing"]',
  'kestrel.input': JSON.stringify(input),
  ...extra,
});
const good = { width: 640, height: 384, layout: 'NCHW', colour: 'RGB', mean: [0, 0, 0], std: [255, 255, 255], letterbox: true, padValue: 114 };

function refusal(p: Record<string, string>): string {
  try {
    parseMetadata(p, {}, 'm.onnx');
  } catch (err) {
    assert.equal((err as { code?: string }).code, 'E_MODEL_METADATA');
    return (err as Error).message;
  }
  throw new Error('expected a refusal');
}

test('a well-formed input spec is read as given', () => {
  const meta: KestrelMetadata = parseMetadata(props(good));
  assert.deepEqual(meta.input, good);
});

test('an input spec that gives only its size gets the default input: RGB on 0..1, letterboxed with grey 114', () => {
  const meta = parseMetadata(props({ width: 320, height: 256 }));
  assert.deepEqual(meta.input, defaultInputSpec(320, 256));
  assert.deepEqual(defaultInputSpec(640, 384), good);
  // The YOLO convention, which exported models were trained with: changing it changes every model's input.
  assert.equal(DEFAULT_PAD_VALUE, 114);
});

test('input sizes beyond what a device can allocate per frame are refused, naming the field', () => {
  assert.match(refusal(props({ ...good, width: 100000, height: 100000 })), /m\.onnx: input\.width must be a whole number from 8 to 4096, got 100000; input\.height must be/);
  assert.match(refusal(props({ ...good, width: 4096, height: 4096 })), new RegExp(`input is 4096×4096 = 16777216 pixels; Kestrel runs models of up to ${MAX_INPUT_PIXELS} input pixels`));
  assert.match(refusal(props({ ...good, width: 0 })), /input\.width must be a whole number from 8 to 4096, got 0/);
  assert.match(refusal(props({ ...good, width: 4 })), /input\.width must be a whole number from 8 to 4096, got 4/);
  assert.match(refusal(props({ ...good, height: 416.5 })), /input\.height must be a whole number/);
  assert.match(refusal(props({ ...good, width: '640' })), /input\.width must be a whole number from 8 to 4096, got "640"/);
});

test('normalisation that is not finite, or a std of 0, is refused: every pixel is divided by std', () => {
  assert.match(refusal(props({ ...good, std: [0, 255, 255] })), /input\.std must be 3 finite numbers above 0 \(one per channel\), got \[0,255,255\]/);
  assert.match(refusal(props({ ...good, std: [-1, 1, 1] })), /input\.std must be 3 finite numbers above 0/);
  // JSON has no NaN, but 1e999 parses to Infinity.
  assert.match(refusal({ ...props(good), 'kestrel.input': '{"width":64,"height":64,"mean":[1e999,0,0]}' }), /input\.mean must be 3 finite numbers \(one per channel\), got \[null,0,0\]/);
  assert.match(refusal(props({ ...good, mean: [0, 0] })), /input\.mean must be 3 finite numbers/);
  assert.match(refusal(props({ ...good, padValue: 300 })), /input\.padValue must be a number from 0 to 255, got 300/);
  assert.match(refusal(props({ ...good, colour: 'RGBA' })), /input\.colour must be "RGB" or "BGR", got "RGBA"/);
  assert.match(refusal(props({ ...good, layout: 'NHWC' })), /input\.layout must be "NCHW", got "NHWC"/);
  assert.match(refusal(props({ ...good, letterbox: 'yes' })), /input\.letterbox must be true or false/);
});

test('labels, strides and reg_max out of range are refused', () => {
  assert.match(refusal({ ...props(good), 'kestrel.labels': '[]' }), /labels must name 1 to 10000 classes, it names 0/);
  assert.match(refusal({ ...props(good), 'kestrel.strides': '[8, 0, 32]' }), /strides must be 1 to 8 whole numbers from 1 to 1024, got \[8,0,32\]/);
  assert.match(refusal({ ...props(good), 'kestrel.strides': '"8,16"' }), /strides must be/);
  assert.match(refusal({ ...props(good), 'kestrel.reg_max': '1000' }), /reg_max must be a whole number from 0 to 64, got 1000/);
});

test('a model whose outputs are NaN on a real image fails its inference with E_INFERENCE_NONFINITE; it loaded, since its blank-frame outputs are finite', async () => {
  const detector = await Detector.fromBytes(nanDetector(32, '1.0.0'), 'nan.onnx');
  try {
    const image = await sharp({ create: { width: 64, height: 48, channels: 3, background: { r: 200, g: 100, b: 50 } } }).png().toBuffer();
    await assert.rejects(detector.detect(image), (err: Error & { code?: string }) => {
      assert.equal(err.code, 'E_INFERENCE_NONFINITE');
      assert.match(err.message, /the model's output output0 has 5 NaN and 0 infinite values of 5/);
      return true;
    });
  } finally {
    await detector.close();
  }
});

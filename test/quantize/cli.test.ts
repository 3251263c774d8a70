// `kestrel quantize` as a user runs it: a child process, exit codes, JSON on stdout.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BUNDLED_MODEL_PATH } from '@kestrel/core/model/bundled';
import { makePhotoSets, type PhotoSets } from './support/photos.js';

const main = fileURLToPath(new URL('./support/cli-main.ts', import.meta.url));
let photos: PhotoSets;
before(async () => {
  photos = await makePhotoSets();
});
after(() => rmSync(photos.dir, { recursive: true, force: true }));

function kestrel(...args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--conditions=kestrel-source', '--import', 'tsx', main, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

test('kestrel quantize writes the INT8 model, prints one JSON report with --json and the same with --report', async () => {
  const out = join(photos.dir, 'cli-int8.onnx');
  const report = join(photos.dir, 'report.json');
  const r = await kestrel('quantize', BUNDLED_MODEL_PATH, '--calib', photos.calibDir, '-o', out, '--method', 'minmax', '--max-images', '6', '--no-bench', '--threads', '1', '--json', '--report', report);
  assert.equal(r.code, 0, r.stderr);
  const doc = JSON.parse(r.stdout);
  assert.equal(doc.ok, true);
  assert.equal(doc.schema, 1);
  assert.equal(doc.output, out);
  assert.equal(doc.method, 'minmax');
  assert.equal(doc.calibration.count, 6);
  // 16 images: every 5th (3 of them) held out for the agreement check.
  assert.equal(doc.calibration.heldOut, 3);
  assert.equal(doc.agreement.images, 3);
  assert.ok(doc.fusion.ratio >= 0.95);
  assert.deepEqual(doc.skipped, ['throughput: turned off']);
  assert.deepEqual(JSON.parse(readFileSync(report, 'utf8')), doc);
  assert.ok(existsSync(out));
});

test('user errors exit 2 with one clear line, and a JSON error document with --json', async () => {
  const bogus = join(photos.dir, 'bogus.onnx');
  writeFileSync(bogus, 'not a model');
  const r = await kestrel('quantize', bogus, '--calib', photos.calibDir, '-o', join(photos.dir, 'x.onnx'), '--json');
  assert.equal(r.code, 2);
  assert.deepEqual(JSON.parse(r.stdout).error.code, 'E_MODEL_NOT_ONNX');
  assert.match(r.stderr, /bogus\.onnx is not an ONNX model/);
  assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace for user errors');
  const missing = await kestrel('quantize', BUNDLED_MODEL_PATH, '-o', join(photos.dir, 'x.onnx'));
  assert.equal(missing.code, 2);
  assert.match(missing.stderr, /--calib/);
  const badThreads = await kestrel('quantize', BUNDLED_MODEL_PATH, '--calib', photos.calibDir, '-o', join(photos.dir, 'x.onnx'), '--threads', 'two');
  assert.equal(badThreads.code, 2);
  assert.match(badThreads.stderr, /--threads must be a positive integer/);
});

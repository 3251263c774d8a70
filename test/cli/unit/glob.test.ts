// The glob patterns `kestrel detect` takes ('shots/*.jpg', 'data/**/*.png'), on real folders.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { globFiles, isGlob } from '@kestrel/cli/predict/glob';

const dir = mkdtempSync(join(tmpdir(), 'kestrel-glob-'));
after(() => rmSync(dir, { recursive: true, force: true }));
for (const f of ['a.jpg', 'b.png', 'c1.jpg', 'c2.jpg', '.hidden.jpg', 'sub/d.jpg', 'sub/deeper/e.jpg', 'sub/.git/f.jpg']) {
  mkdirSync(join(dir, f, '..'), { recursive: true });
  writeFileSync(join(dir, f), '');
}

test('*, ?, [..] and ** match as in a shell; dot files only when asked; results sorted', () => {
  assert.deepEqual(globFiles(`${dir}/*.jpg`), [`${dir}/a.jpg`, `${dir}/c1.jpg`, `${dir}/c2.jpg`]);
  assert.deepEqual(globFiles(`${dir}/c?.jpg`), [`${dir}/c1.jpg`, `${dir}/c2.jpg`]);
  assert.deepEqual(globFiles(`${dir}/[ab].*`), [`${dir}/a.jpg`, `${dir}/b.png`]);
  assert.deepEqual(globFiles(`${dir}/[!ab]*.jpg`), [`${dir}/c1.jpg`, `${dir}/c2.jpg`]);
  assert.deepEqual(globFiles(`${dir}/**/*.jpg`), [`${dir}/a.jpg`, `${dir}/c1.jpg`, `${dir}/c2.jpg`, `${dir}/sub/d.jpg`, `${dir}/sub/deeper/e.jpg`]);
  assert.deepEqual(globFiles(`${dir}/.*.jpg`), [`${dir}/.hidden.jpg`]);
  assert.deepEqual(globFiles(`${dir}/*/d.jpg`), [`${dir}/sub/d.jpg`]);
  assert.deepEqual(globFiles(`${dir}/nothing/*.jpg`), []);
});

test('relative patterns give relative paths', () => {
  const cwd = process.cwd();
  process.chdir(dir);
  try {
    assert.deepEqual(globFiles('sub/*.jpg'), ['sub/d.jpg']);
    assert.deepEqual(globFiles('*.png'), ['b.png']);
  } finally {
    process.chdir(cwd);
  }
  assert.equal(isGlob('shots/*.jpg'), true);
  assert.equal(isGlob('shots/a.jpg'), false);
});

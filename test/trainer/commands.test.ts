// The trainer's commands as a user runs them: --json prints one JSON document on stdout, and a
// user error prints one line naming the problem.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { existsSync } from 'node:fs';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { tempDir } from './support/tmp.js';

const CLI = fileURLToPath(new URL('./support/kestrel-trainer-cli.ts', import.meta.url));

function run(args: string[]): Promise<{ stdout: string; stderr: string; exitCode: number }> {
  return new Promise((resolve) => {
    execFile(process.execPath, ['--conditions=kestrel-source', '--import', 'tsx', CLI, ...args], { env: { ...process.env, KESTREL_LOG_LEVEL: 'warn' } }, (err, stdout, stderr) => {
      resolve({ stdout, stderr, exitCode: err ? Number((err as { code?: number }).code ?? 1) : 0 });
    });
  });
}

test('dataset synth, split, stats and show with --json', async () => {
  const dir = join(tempDir(), 'ds');
  const synth = await run(['dataset', 'synth', dir, '--count', '6', '--size', '96', '--seed', '1', '--json']);
  assert.equal(synth.exitCode, 0);
  assert.equal(JSON.parse(synth.stdout).count, 6);
  const split = JSON.parse((await run(['dataset', 'split', dir, '--ratios', '4,1,1', '--seed', '3', '--json'])).stdout);
  assert.deepEqual([split.train, split.val, split.test], [4, 1, 1]);
  const stats = JSON.parse((await run(['dataset', 'stats', dir, '--json'])).stdout);
  assert.equal(stats.images, 6);
  assert.deepEqual(stats.splits, { train: 4, val: 1, test: 1 });
  const png = join(dir, '..', 'grid.png');
  const show = JSON.parse((await run(['dataset', 'show', dir, '-o', png, '--count', '4', '--imgsz', '96', '--json'])).stdout);
  assert.equal(show.samples, 4);
  assert.ok(existsSync(png));
});

test('a user error prints one line and a JSON error document, exit code 2', async () => {
  const r = await run(['dataset', 'stats', '/nonexistent/ds', '--json']);
  assert.equal(r.exitCode, 2);
  assert.deepEqual(JSON.parse(r.stdout), { ok: false, error: { code: 'E_DATASET_MISSING', message: 'dataset folder /nonexistent/ds does not exist' } });
  assert.equal(r.stderr, 'kestrel: dataset folder /nonexistent/ds does not exist\n');
  const bad = await run(['dataset', 'synth', join(tempDir(), 'x'), '--count', 'many']);
  assert.equal(bad.exitCode, 2);
  assert.match(bad.stderr, /--count must be a positive integer, got "many"/);
});

test('train refuses bad augmentation, thread and box-bin flags, naming the flag', async () => {
  const mosaic = await run(['train', '--data', '/nonexistent/ds', '--mosaic', '2']);
  assert.equal(mosaic.exitCode, 2);
  assert.match(mosaic.stderr, /--mosaic must be in \[0, 1\], got "2"/);
  const threads = await run(['train', '--data', '/nonexistent/ds', '--threads', '0']);
  assert.match(threads.stderr, /--threads must be a positive integer, got "0"/);
  const scale = await run(['train', '--data', '/nonexistent/ds', '--scale', '-0.1']);
  assert.match(scale.stderr, /--scale must be in \[0, 1\), got "-0.1"/);
  const bins = await run(['train', '--data', '/nonexistent/ds', '--box-bins', '1']);
  assert.equal(bins.exitCode, 2);
  assert.match(bins.stderr, /--box-bins must be 0, or a whole number from 2 to 32, got "1"/);
});

// The device tarball, end to end: `npm run pack` (scripts/pack.mjs) on the built tree, then
// `npm install --prefix <empty folder> kestrel-<version>.tgz` as on a fresh device (third-party
// packages from the registry or npm's cache, every Kestrel part from the tarball), then the
// installed `kestrel` runs: its version, the bundled detector on a photograph, and the service
// installer finding its unit template. Slow (minutes: native addons build), as a real install is.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO_ROOT, testImage } from '../support/images.js';

const dir = mkdtempSync(join(tmpdir(), 'kestrel-pack-test-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const version = (JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string }).version;

function run(cmd: string, args: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(cmd, args, { cwd: options.cwd ?? dir, env: { ...process.env, ...options.env }, timeout: options.timeoutMs ?? 120_000, maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as unknown as { code: number }).code : 1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

test('the packed tarball installs into an empty prefix and its kestrel runs: version, detect, service unit', { timeout: 15 * 60_000 }, async () => {
  const packed = await run(process.execPath, [join(REPO_ROOT, 'scripts/pack.mjs'), '--out', join(dir, 'out')], { cwd: REPO_ROOT, timeoutMs: 5 * 60_000 });
  assert.equal(packed.code, 0, packed.stderr);
  const tgz = packed.stdout.trim();
  assert.equal(tgz, join(dir, 'out', `kestrel-${version}.tgz`));

  const listing = (await run('tar', ['-tzf', tgz])).stdout.split('\n');
  for (const part of ['core', 'config', 'agent', 'trainer', 'quantize', 'importer', 'deploy', 'cli']) {
    assert.ok(listing.includes(`package/node_modules/@kestrel/${part}/package.json`), `${part} is bundled`);
    assert.ok(listing.some((f) => f.startsWith(`package/node_modules/@kestrel/${part}/dist/`)), `${part} is bundled built`);
  }
  for (const file of ['models/nanodet-416.onnx', 'systemd/kestrel-agent.service', 'deploy/ui/dist/index.html', 'cli/bin/kestrel.js']) {
    assert.ok(listing.includes(`package/node_modules/@kestrel/${file}`), `${file} is in the tarball`);
  }
  const manifest = JSON.parse((await run('tar', ['-xzOf', tgz, 'package/package.json'])).stdout) as { private?: boolean; workspaces?: unknown; dependencies: Record<string, string>; bundleDependencies: string[] };
  assert.equal(manifest.private, undefined);
  assert.equal(manifest.workspaces, undefined);
  assert.ok(manifest.bundleDependencies.includes('@kestrel/agent'));
  assert.equal(manifest.dependencies['onnxruntime-node'] !== undefined && manifest.dependencies.mqtt !== undefined, true, 'the parts\' third-party dependencies are the package\'s');

  const prefix = join(dir, 'prefix');
  mkdirSync(prefix);
  // ONNX Runtime's postinstall would fetch the CUDA providers from NuGet: a CPU install skips it (README).
  const installed = await run('npm', ['install', '--prefix', prefix, '--prefer-offline', '--no-audit', '--no-fund', tgz], { env: { ONNXRUNTIME_NODE_INSTALL: 'skip' }, timeoutMs: 12 * 60_000 });
  assert.equal(installed.code, 0, installed.stderr);
  const kestrel = join(prefix, 'node_modules/.bin/kestrel');

  const v = await run(kestrel, ['--version']);
  assert.equal(v.code, 0, v.stderr);
  assert.equal(v.stdout.trim(), version);

  const detected = await run(kestrel, ['detect', testImage('chelsea'), '--no-save', '--json']);
  assert.equal(detected.code, 0, detected.stderr);
  const doc = JSON.parse(detected.stdout) as { images: { detections: { label: string }[] }[] };
  assert.ok(doc.images[0]!.detections.some((d) => d.label === 'cat'), detected.stdout);

  const unit = await run(kestrel, ['service', 'install', '--dry-run', '--unit-dir', join(dir, 'units'), '--user', 'daemon']);
  assert.equal(unit.code, 0, unit.stderr);
  assert.match(unit.stdout, new RegExp(`^ExecStart=\\S+/node ${prefix}/node_modules/kestrel/node_modules/@kestrel/cli/bin/kestrel\\.js agent --config /etc/kestrel/agent\\.yaml$`, 'm'));
});

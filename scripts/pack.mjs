#!/usr/bin/env node
// Packs the built repository into one installable tarball, kestrel-<version>.tgz, for a device:
//   npm run build && node scripts/pack.mjs [--out <dir>]
//   ONNXRUNTIME_NODE_INSTALL=skip npm install -g ./kestrel-<version>.tgz
// `npm pack` of the root alone is useless there: the workspaces are links in node_modules, so the
// tarball would carry none of them. Here every workspace is packed as npm packs it (its `files`),
// unpacked into node_modules/@kestrel/<name> and bundled (bundleDependencies), so the install
// needs nothing but the registry for the third-party packages, which the root package names
// (the union of the workspaces' dependencies, so npm installs them beside the bundled parts).
// The committed assets the parts find beside themselves by relative path (core: ../models, the
// CLI's service installer: ../systemd) are bundled as the packages @kestrel/models and
// @kestrel/systemd, which sit exactly there.
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const args = process.argv.slice(2);
const outAt = args.indexOf('--out');
const outDir = resolve(outAt >= 0 ? args[outAt + 1] ?? '.' : '.');
const rootPkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));

function fail(message) {
  process.stderr.write(`pack: ${message}\n`);
  process.exit(2);
}

for (const ws of rootPkg.workspaces) {
  if (!existsSync(join(root, ws, 'dist'))) fail(`${ws}/dist is missing: run \`npm run build\` first`);
}
if (!existsSync(join(root, 'deploy/ui/dist'))) fail('deploy/ui/dist is missing: run `npm run build` first');

const stage = mkdtempSync(join(tmpdir(), 'kestrel-pack-'));
try {
  const pkgDir = join(stage, 'package');
  const scope = join(pkgDir, 'node_modules/@kestrel');
  mkdirSync(scope, { recursive: true });
  const dependencies = {};
  const optionalDependencies = {};
  const bundled = [];

  for (const ws of rootPkg.workspaces) {
    const wsPkg = JSON.parse(readFileSync(join(root, ws, 'package.json'), 'utf8'));
    // npm's own packing decides what a part ships (its `files`), with no scripts run.
    const tgz = execFileSync('npm', ['pack', '--ignore-scripts', '--silent', '--pack-destination', stage, '--workspace', ws], { cwd: root, encoding: 'utf8' }).trim().split('\n').pop();
    const dest = join(scope, wsPkg.name.split('/')[1]);
    mkdirSync(dest, { recursive: true });
    execFileSync('tar', ['-xzf', join(stage, tgz), '-C', dest, '--strip-components=1']);
    bundled.push(wsPkg.name);
    for (const [name, range] of Object.entries(wsPkg.dependencies ?? {})) addDep(dependencies, name, range, ws);
    for (const [name, range] of Object.entries(wsPkg.optionalDependencies ?? {})) addDep(optionalDependencies, name, range, ws);
  }
  // The hub's review UI is build output outside deploy's `files`; the hub serves it from deploy/ui/dist.
  cpSync(join(root, 'deploy/ui/dist'), join(scope, 'deploy/ui/dist'), { recursive: true });
  for (const [name, dir] of [['models', 'models'], ['systemd', 'systemd']]) {
    const dest = join(scope, name);
    cpSync(join(root, dir), dest, { recursive: true });
    writeFileSync(join(dest, 'package.json'), `${JSON.stringify({ name: `@kestrel/${name}`, version: rootPkg.version, private: true, description: `Kestrel's ${dir}/ folder, where the parts look for it` }, null, 2)}\n`);
    bundled.push(`@kestrel/${name}`);
  }
  for (const name of bundled) {
    delete optionalDependencies[name];
    dependencies[name] = rootPkg.version;
  }

  const pkg = {
    name: rootPkg.name,
    version: rootPkg.version,
    description: rootPkg.description,
    license: rootPkg.license,
    type: 'module',
    engines: rootPkg.engines,
    bin: { kestrel: 'node_modules/@kestrel/cli/bin/kestrel.js' },
    dependencies: sorted(dependencies),
    optionalDependencies: sorted(optionalDependencies),
    bundleDependencies: bundled.sort(),
  };
  writeFileSync(join(pkgDir, 'package.json'), `${JSON.stringify(pkg, null, 2)}\n`);
  for (const f of ['README.md', 'ARCHITECTURE.md', 'LICENSE']) if (existsSync(join(root, f))) cpSync(join(root, f), join(pkgDir, f));

  mkdirSync(outDir, { recursive: true });
  const name = execFileSync('npm', ['pack', '--ignore-scripts', '--silent', '--pack-destination', outDir], { cwd: pkgDir, encoding: 'utf8' }).trim().split('\n').pop();
  process.stdout.write(`${join(outDir, name)}\n`);
} finally {
  rmSync(stage, { recursive: true, force: true });
}

/** One range per package: two parts asking for different ranges would need a decision, not a guess. */
function addDep(into, name, range, ws) {
  if (name.startsWith('@kestrel/')) return;
  if (into[name] !== undefined && into[name] !== range) fail(`${ws} wants ${name}@${range}, another part ${name}@${into[name]}: align them first`);
  into[name] = range;
}

function sorted(obj) {
  return Object.fromEntries(Object.entries(obj).sort(([a], [b]) => a.localeCompare(b)));
}

#!/usr/bin/env node
// Runs the test suite with Node's own runner on the TypeScript sources (tsx, and the
// `kestrel-source` export condition so workspace packages resolve to src/ instead of dist/).
// Usage: node test/run.mjs [--unit] [file-or-folder ...]
//   --unit   only tests under test/**/unit or named *.unit.test.ts (fast, no external processes)
import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const args = process.argv.slice(2);
const unitOnly = args.includes('--unit');
const targets = args.filter((a) => !a.startsWith('--'));

function collect(path, out) {
  const st = statSync(path);
  if (st.isDirectory()) {
    for (const name of readdirSync(path).sort()) {
      if (name === 'node_modules' || name === 'fixtures' || name === 'support') continue;
      collect(join(path, name), out);
    }
  } else if (path.endsWith('.test.ts')) {
    out.push(path);
  }
  return out;
}

let files = (targets.length ? targets : ['test']).flatMap((t) => collect(join(root, t), []));
if (unitOnly) files = files.filter((f) => f.includes('/unit/') || f.endsWith('.unit.test.ts'));
if (files.length === 0) {
  console.error('no test files found');
  process.exit(1);
}

const concurrency = process.env.KESTREL_TEST_CONCURRENCY ?? '2';
const child = spawn(
  process.execPath,
  ['--conditions=kestrel-source', '--import', 'tsx', '--test', `--test-concurrency=${concurrency}`, '--test-reporter=spec', ...files.map((f) => relative(root, f))],
  { cwd: root, stdio: 'inherit', env: { ...process.env, KESTREL_LOG_LEVEL: process.env.KESTREL_LOG_LEVEL ?? 'warn' } },
);
child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));

// The unit files, checked by systemd's own tools: `systemd-analyze verify` (syntax, directive
// values, dependencies on system units, executables) and `systemd-analyze security --offline`
// (the hardening score; the agent must stay at 3.0 or below, "OK").
//
// verify also demands that every ExecStart= binary exists. The units name the installed CLI,
// /usr/local/bin/kestrel (npm install -g), which a development machine does not have, so verify
// runs against a throwaway root (--root): the system's own unit files and the real binaries the
// units name (/bin/kill) are copied in, and only the not-yet-installed kestrel CLI is a stand-in
// script at the exact path the unit names. Everything verify checks is checked for real.
// verify exits 0 even when it ignores a bad line, so any output at all counts as a failure.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { chmodSync, copyFileSync, cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { REPO_ROOT } from '../support/images.js';

const UNIT_DIR = join(REPO_ROOT, 'systemd');
const units = readdirSync(UNIT_DIR).filter((f) => f.endsWith('.service'));

function run(cmd: string, args: string[]): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    execFile(cmd, args, { timeout: 60_000 }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as NodeJS.ErrnoException & { code?: unknown }).code === 'number' ? ((err as unknown as { code: number }).code) : 1) : 0;
      resolve({ code, out: `${stdout}${stderr}`.trim() });
    });
  });
}

/** The absolute executables a unit names in Exec*= lines. */
function executables(unit: string): string[] {
  return [...unit.matchAll(/^Exec\w+=[-@:+!]*(\/\S+)/gm)].map((m) => m[1]!);
}

/** A root with the system's unit files, the host's copies of the executables that exist, and stand-ins for the kestrel CLI. */
function makeRoot(files: Record<string, string>): string {
  const root = mkdtempSync(join(tmpdir(), 'kestrel-units-'));
  cpSync('/usr/lib/systemd/system', join(root, 'usr/lib/systemd/system'), { recursive: true });
  mkdirSync(join(root, 'etc/systemd/system'), { recursive: true });
  for (const [name, text] of Object.entries(files)) {
    writeFileSync(join(root, 'etc/systemd/system', name), text);
    for (const exe of executables(text)) {
      const target = join(root, exe);
      mkdirSync(dirname(target), { recursive: true });
      if (exe === '/usr/local/bin/kestrel') writeFileSync(target, '#!/bin/sh\n# stand-in for the installed kestrel CLI\n');
      else if (existsSync(exe)) copyFileSync(exe, target);
      else continue; // absent here too: verify must say so
      chmodSync(target, 0o755);
    }
  }
  return root;
}

async function verify(files: Record<string, string>): Promise<{ code: number; out: string }> {
  const root = makeRoot(files);
  try {
    return await run('systemd-analyze', ['verify', `--root=${root}`, ...Object.keys(files)]);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

test('every unit file passes systemd-analyze verify without a single complaint', { timeout: 60_000 }, async () => {
  assert.deepEqual(units.sort(), ['kestrel-agent.service', 'kestrel-hub.service']);
  const files = Object.fromEntries(units.map((u) => [u, readFileSync(join(UNIT_DIR, u), 'utf8')]));
  for (const [name, text] of Object.entries(files)) {
    assert.ok(executables(text).includes('/usr/local/bin/kestrel'), `${name} runs the installed CLI by its absolute path`);
    const r = await verify({ [name]: text });
    assert.equal(r.code, 0, `${name}: ${r.out}`);
    assert.equal(r.out, '', `${name}: systemd-analyze verify said:\n${r.out}`);
  }
});

test('the verify check catches a bad directive and a missing executable (it is not a rubber stamp)', { timeout: 60_000 }, async () => {
  const agent = readFileSync(join(UNIT_DIR, 'kestrel-agent.service'), 'utf8');
  const badValue = await verify({ 'bad-value.service': agent.replace(/^WatchdogSec=.*$/m, 'WatchdogSec=soon') });
  assert.match(badValue.out, /Failed to parse sec value.*soon/);
  const missing = await verify({ 'missing-exe.service': agent.replace(/^ExecReload=\/bin\/kill/m, 'ExecReload=/usr/bin/no-such-kill') });
  assert.match(missing.out, /no-such-kill is not executable/);
});

for (const unit of units) {
  test(`systemd-analyze security --offline scores ${unit} 3.0 or lower ("OK")`, { timeout: 60_000 }, async () => {
    const r = await run('systemd-analyze', ['security', '--offline=yes', join(UNIT_DIR, unit)]);
    const m = /Overall exposure level for \S+: (\d+(?:\.\d+)?) (\S+)/.exec(r.out);
    assert.ok(m, `no score in:\n${r.out}`);
    const score = Number(m[1]);
    console.log(`${unit}: exposure ${score} ${m[2]}`);
    assert.ok(score <= 3.0, `${unit} exposure ${score} (want ≤ 3.0):\n${r.out.split('\n').filter((l) => l.startsWith('✗')).join('\n')}`);
    assert.equal(m[2], 'OK');
  });
}

test('the agent unit is what the agent expects: notify + watchdog, state dir, reload, no restart loop on bad config', () => {
  const text = readFileSync(join(UNIT_DIR, 'kestrel-agent.service'), 'utf8');
  const value = (key: string) => [...text.matchAll(new RegExp(`^${key}=(.*)$`, 'gm'))].map((m) => m[1]!.trim());
  assert.deepEqual(value('Type'), ['notify']);
  assert.ok(Number.parseInt(value('WatchdogSec')[0] ?? '0', 10) >= 30, 'a watchdog long enough for camera retries to run first');
  assert.deepEqual(value('NotifyAccess'), ['all'], 'the systemd-notify fallback sends from a child process');
  // $STATE_DIRECTORY (from StateDirectory=) is the agent's default stateDir (config/src/context.ts).
  assert.deepEqual(value('StateDirectory'), ['kestrel']);
  assert.match(value('ExecReload')[0] ?? '', /kill -HUP \$MAINPID/);
  assert.deepEqual(value('Restart'), ['on-failure']);
  assert.deepEqual(value('RestartPreventExitStatus'), ['2'], 'exit 2 is a config error: restarting cannot fix it');
  assert.deepEqual(value('KillMode'), ['mixed'], 'SIGTERM to the agent alone: it stops its ffmpeg children itself');
  assert.ok(value('DynamicUser')[0] === 'yes' || value('User').length === 1);
  for (const key of ['ProtectSystem', 'ProtectHome', 'PrivateTmp', 'NoNewPrivileges', 'RestrictAddressFamilies', 'SystemCallFilter', 'CapabilityBoundingSet', 'MemoryMax', 'RestartSec']) {
    assert.ok(value(key).length > 0, `${key}= is set`);
  }
  assert.deepEqual(value('ProtectSystem'), ['strict']);
  assert.match(text, /^#\s*DeviceAllow=char-video4linux rw$/m, 'V4L2 cameras: a documented opt-in');
});

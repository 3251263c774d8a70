// `kestrel service install` as a user runs it, into a scratch unit folder (--unit-dir runs no
// systemctl): --dry-run changes nothing, the written unit names this install's real node and
// entry script, and systemd's own `systemd-analyze verify` has nothing to say about it. The unit
// runs as `daemon`, an account every Debian system has (verify rejects `nobody`).
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, realpathSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { runKestrel } from '../support/cli.js';
import { REPO_ROOT } from '../support/images.js';

const dir = mkdtempSync(join(tmpdir(), 'kestrel-service-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const value = (unit: string, key: string) => [...unit.matchAll(new RegExp(`^${key}=(.*)$`, 'gm'))].map((m) => m[1]!);

function verify(unitPath: string): Promise<string> {
  return new Promise((resolve) => {
    execFile('systemd-analyze', ['verify', unitPath], { timeout: 60_000 }, (err, stdout, stderr) => resolve(`${err && !stderr ? err.message : ''}${stdout}${stderr}`.trim()));
  });
}

test('--dry-run prints the unit on stdout and each step on stderr, and writes nothing', async () => {
  const unitDir = join(dir, 'dry');
  const r = await runKestrel(['service', 'install', '--unit-dir', unitDir, '--user', 'daemon', '--dry-run']);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(existsSync(unitDir), false);
  assert.match(r.stderr, new RegExp(`^would write ${unitDir}/kestrel-agent.service$`, 'm'));
  assert.match(r.stderr, /the unit is only written, systemctl is not run/);
  assert.deepEqual(value(r.stdout, 'ExecStart'), [`${realpathSync(process.execPath)} ${join(REPO_ROOT, 'cli/bin/kestrel.js')} agent --config /etc/kestrel/agent.yaml`]);
  assert.deepEqual(value(r.stdout, 'User'), ['daemon']);
});

test('the written unit passes systemd-analyze verify without a complaint, and uninstall removes it', { timeout: 90_000 }, async () => {
  const unitDir = join(dir, 'units');
  const config = join(dir, 'agent.yaml');
  writeFileSync(config, 'cameras: []\n');
  const r = await runKestrel(['service', 'install', '--unit-dir', unitDir, '--user', 'daemon', '--config', config]);
  assert.equal(r.code, 0, r.stderr);
  const unitPath = join(unitDir, 'kestrel-agent.service');
  assert.equal(statSync(unitPath).mode & 0o777, 0o644);
  const unit = readFileSync(unitPath, 'utf8');
  assert.deepEqual(value(unit, 'ExecStart'), [`${realpathSync(process.execPath)} ${join(REPO_ROOT, 'cli/bin/kestrel.js')} agent --config ${config}`]);
  assert.deepEqual(value(unit, 'StateDirectory'), ['kestrel']);
  assert.equal(await verify(unitPath), '');

  const gone = await runKestrel(['service', 'uninstall', '--unit-dir', unitDir]);
  assert.equal(gone.code, 0, gone.stderr);
  assert.equal(existsSync(unitPath), false);
});

test('a state folder outside /var/lib is made for the service user alone, and the unit still verifies', { timeout: 90_000 }, async () => {
  // The current account: making a folder for another one would need root.
  const user = userInfo().username;
  const unitDir = join(dir, 'elsewhere');
  const stateDir = join(dir, 'state');
  const r = await runKestrel(['service', 'install', '--unit-dir', unitDir, '--user', user, '--state-dir', stateDir]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(statSync(stateDir).mode & 0o777, 0o700);
  assert.equal(statSync(stateDir).uid, userInfo().uid);
  const unit = readFileSync(join(unitDir, 'kestrel-agent.service'), 'utf8');
  assert.deepEqual(value(unit, 'ReadWritePaths'), [stateDir]);
  assert.ok(value(unit, 'Environment').includes(`STATE_DIRECTORY=${stateDir}`));
  assert.equal(await verify(join(unitDir, 'kestrel-agent.service')), '');
});

test('a missing user with --no-create-user, or a path with a space, is one clear line and writes nothing', async () => {
  const unitDir = join(dir, 'refused');
  const noUser = await runKestrel(['service', 'install', '--unit-dir', unitDir, '--user', 'kestrel-no-such-user', '--no-create-user']);
  assert.equal(noUser.code, 2);
  assert.match(noUser.stderr, /^kestrel: user "kestrel-no-such-user" does not exist; create it with `sudo useradd --system .* kestrel-no-such-user`/);
  const spaced = await runKestrel(['service', 'install', '--unit-dir', unitDir, '--user', 'daemon', '--config', '/etc/my kestrel.yaml']);
  assert.equal(spaced.code, 2);
  assert.match(spaced.stderr, /--config path "\/etc\/my kestrel.yaml" has a space/);
  assert.equal(existsSync(unitDir), false);
});

test('a missing user is created with useradd, said before it is done (dry run)', async () => {
  const r = await runKestrel(['service', 'install', '--unit-dir', join(dir, 'new-user'), '--user', 'kestrel-no-such-user', '--dry-run']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /^would create system user kestrel-no-such-user: useradd --system --user-group --no-create-home --home-dir \/var\/lib\/kestrel --shell \/usr\/sbin\/nologin kestrel-no-such-user$/m);
});

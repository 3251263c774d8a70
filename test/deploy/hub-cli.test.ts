// `kestrel hub device add | revoke | list` as a user runs them, and what the hub makes of the tokens.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { runKestrel } from '../support/cli.js';
import { postSamples, startHub, type HubProcess } from './support/hub-process.js';
import { photoJpeg, samplePayload } from './support/samples.js';

let hub: HubProcess;
before(async () => {
  hub = await startHub();
});
after(() => hub?.stop());

const kestrel = (...args: string[]) => runKestrel(['hub', ...args, '--config', hub.configPath]);

test('device add prints a token once (stored hashed); the hub accepts it until device revoke', { timeout: 90_000 }, async () => {
  const added = await kestrel('device', 'add', 'pi-cli');
  assert.equal(added.code, 0, added.stderr);
  const token = added.stdout.trim();
  assert.match(token, /^kst_[A-Za-z0-9_-]{43}$/);
  assert.match(added.stderr, /shown only this once/);
  const stored = await hub.stores().records.listTokens('device');
  assert.ok(!JSON.stringify(stored).includes(token.slice(4)), 'the token itself is not in the database');

  const twice = await kestrel('device', 'add', 'pi-cli');
  assert.equal(twice.code, 2);
  assert.match(twice.stderr, /device "pi-cli" already has a token .*add --replace/);
  const badName = await kestrel('device', 'add', 'pi cli');
  assert.equal(badName.code, 2);
  assert.match(badName.stderr, /device name "pi cli" must be 1-64 letters, digits/);

  const image = await photoJpeg('coffee', 200);
  assert.equal((await postSamples(hub.url, token, { samples: [samplePayload('pi-cli', image)] })).status, 200);

  const list = await kestrel('device', 'list', '--json');
  assert.deepEqual(JSON.parse(list.stdout).devices.map((d: { name: string; active: boolean }) => [d.name, d.active]), [['pi-cli', true]]);

  const revoked = await kestrel('device', 'revoke', 'pi-cli');
  assert.equal(revoked.code, 0, revoked.stderr);
  const refused = await postSamples(hub.url, token, { samples: [samplePayload('pi-cli', image)] });
  assert.equal(refused.status, 401);
  assert.match(refused.body.error.message, /revoked/);
  const again = await kestrel('device', 'revoke', 'pi-cli');
  assert.equal(again.code, 2);
  assert.match(again.stderr, /device "pi-cli" has no active token/);

  const replaced = await kestrel('device', 'add', 'pi-cli', '--json');
  const fresh = JSON.parse(replaced.stdout).token as string;
  assert.notEqual(fresh, token);
  assert.equal((await postSamples(hub.url, fresh, { samples: [samplePayload('pi-cli', image)] })).status, 200);
  const samples = await kestrel('samples', '--device', 'pi-cli', '--json');
  assert.equal(JSON.parse(samples.stdout).total, 2);
});

test('a broken hub config stops `kestrel hub` with the problem named, exit code 2', { timeout: 60_000 }, async () => {
  const { writeFileSync } = await import('node:fs');
  const { join } = await import('node:path');
  const path = join(hub.dir, 'broken.yaml');
  writeFileSync(path, 'bind: 127.0.0.1:99999\n');
  const res = await runKestrel(['hub', '--config', path]);
  assert.equal(res.code, 2);
  assert.match(res.stderr, /bind: port 99999 is above 65535 \(line 1\)/);
});

// kestrel deploy keygen / release / status, run in-process through commander against a hub config.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import mqtt from 'mqtt';
import { acceptKeySet, parsePayload, TrustedKeys } from '@kestrel/core';
import { startBroker } from '../support/broker.js';
import { uniquePrefix } from '../support/ports.js';
import { fixedDetector } from '../agent/support/update-kit.js';

const root = fileURLToPath(new URL('../..', import.meta.url));

function run(args: string[]): { out: string; err: string; code: number } {
  const result = spawnSync(process.execPath, ['--conditions=kestrel-source', '--import', 'tsx', 'test/deploy/support/deploy-cli.ts', 'deploy', ...args], {
    cwd: root, encoding: 'utf8', env: { ...process.env, KESTREL_LOG_LEVEL: 'warn' }, timeout: 60_000,
  });
  return { out: result.stdout, err: result.stderr, code: result.status ?? -1 };
}

test('keygen writes a private key only its owner can read and a public key devices can trust', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'kestrel-keygen-'));
  const key = join(dir, 'signing.key');
  const result = run(['keygen', '--out', key, '--json']);
  assert.equal(result.code, 0, result.err);
  const doc = JSON.parse(result.out) as { keyId: string };
  assert.equal(statSync(key).mode & 0o777, 0o600);
  assert.deepEqual(new TrustedKeys([{ publicKey: readFileSync(`${key}.pub`, 'utf8'), keyId: doc.keyId }]).ids, [doc.keyId]);
  const again = run(['keygen', '--out', key]);
  assert.equal(again.code, 2);
  assert.match(again.err, /already exists; to rotate keys write the new key to another file/);
});

test('release stores the artifact and a record with the metadata summary; a file that is not a model is refused', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'kestrel-release-'));
  const config = join(dir, 'hub.yaml');
  writeFileSync(config, `dataDir: ${join(dir, 'data')}\n`);
  const model = join(dir, 'model.onnx');
  writeFileSync(model, fixedDetector(32, 0.9, '1.0.0'));
  const result = run(['release', model, '--name', 'fixed', '--version', '1.0.0', '--notes', 'first', '--hub-config', config, '--json']);
  assert.equal(result.code, 0, result.err);
  const record = JSON.parse(result.out) as { id: string; release: number; metadata: unknown; sha256: string; notes: string };
  assert.equal(record.id, 'fixed@1.0.0');
  assert.equal(record.release, 1);
  assert.deepEqual(record.metadata, { decoder: 'yolov8', labelCount: 1, inputSize: [32, 32] });
  assert.equal(statSync(join(dir, 'data', 'blobs', 'artifacts', `${record.sha256}.onnx`)).size, statSync(model).size);
  const duplicate = run(['release', model, '--name', 'fixed', '--version', '1.0.0', '--hub-config', config]);
  assert.match(duplicate.err, /release fixed@1\.0\.0 exists already/);
  const junk = join(dir, 'junk.onnx');
  writeFileSync(junk, 'not a model');
  const bad = run(['release', junk, '--name', 'junk', '--version', '1', '--hub-config', config]);
  assert.equal(bad.code, 2);
  assert.match(bad.err, /junk@1: not a Kestrel model/);
});

test('push --expires takes 30m/12h/7d and refuses anything else by the flag\'s name, before touching the hub', async () => {
  const { parseManifestTtl } = await import('@kestrel/deploy/release/duration');
  assert.equal(parseManifestTtl('30m', '--expires'), 30 * 60_000);
  assert.equal(parseManifestTtl('12h', '--expires'), 12 * 3_600_000);
  assert.equal(parseManifestTtl('90d', '--expires'), 90 * 86_400_000);
  const dir = mkdtempSync(join(tmpdir(), 'kestrel-expires-'));
  const config = join(dir, 'hub.yaml');
  // A broker that is not there: a refused flag must be reported before anything is connected.
  writeFileSync(config, `dataDir: ${join(dir, 'data')}\nmqtt: { url: "mqtt://127.0.0.1:9" }\n`);
  for (const [value, pattern] of [['soon', /--expires: "soon" is not a duration/], ['0s', /--expires: 0s is outside 5m to 365d/], ['400d', /--expires: 400d is outside/]] as const) {
    const result = run(['push', 'fixed@1.0.0', '--to', 'all', '--expires', value, '--hub-config', config]);
    assert.equal(result.code, 2, result.err);
    assert.match(result.err, pattern);
    assert.doesNotMatch(result.err, /cannot reach the broker|\n\s+at /);
  }
});

test('deploy keys rotate publishes a retained key set a device that trusts the old key accepts; a set too few new holders signed is refused before anything is sent', async () => {
  const broker = await startBroker();
  const prefix = uniquePrefix('keys');
  const dir = mkdtempSync(join(tmpdir(), 'kestrel-keys-'));
  const config = join(dir, 'hub.yaml');
  writeFileSync(config, `dataDir: ${join(dir, 'data')}\nmqtt: { url: "${broker.url}", prefix: ${prefix} }\n`);
  for (const name of ['old', 'a', 'b']) assert.equal(run(['keygen', '--out', join(dir, `${name}.key`)]).code, 0);
  const pub = (name: string) => readFileSync(join(dir, `${name}.key.pub`), 'utf8');
  const client = await mqtt.connectAsync(broker.url, { clientId: `${prefix}-watch` });
  try {
    const short = run(['keys', 'rotate', '--trust', join(dir, 'a.key.pub'), '--trust', join(dir, 'b.key.pub'), '--threshold', '2', '--sign', join(dir, 'old.key'), '--sign', join(dir, 'a.key'), '--to', 'dev1', '--hub-config', config]);
    assert.equal(short.code, 2, short.err);
    assert.match(short.err, /only 1 of the new keys sign the set; 2 must/);

    const result = run(['keys', 'rotate', '--trust', join(dir, 'a.key.pub'), '--trust', join(dir, 'b.key.pub'), '--threshold', '2', '--sign', join(dir, 'old.key'), '--sign', join(dir, 'a.key'), '--sign', join(dir, 'b.key'), '--to', 'dev1', '--hub-config', config, '--json']);
    assert.equal(result.code, 0, result.err);
    assert.equal((JSON.parse(result.out) as { version: number }).version, 1);
    const retained = await new Promise<Buffer>((resolve) => {
      client.on('message', (_topic, payload) => resolve(payload));
      void client.subscribeAsync(`${prefix}/dev1/keys/set`, { qos: 1 });
    });
    const set = parsePayload('keysSet', retained);
    const trusted = acceptKeySet(set, { trusted: new TrustedKeys([{ publicKey: pub('old') }]), version: 0 }, Date.now());
    assert.equal(trusted.threshold, 2);
    assert.deepEqual(trusted.ids.sort(), [new TrustedKeys([{ publicKey: pub('a') }]).ids[0], new TrustedKeys([{ publicKey: pub('b') }]).ids[0]].sort());
  } finally {
    await client.publishAsync(`${prefix}/dev1/keys/set`, '', { qos: 1, retain: true });
    await client.endAsync();
    await broker.stop();
  }
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { exampleOnItsDevice, hubExampleOnItsHub } from './support/example.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const example = exampleOnItsDevice();

/** Runs `kestrel config <args>` in its own process, as a user would. */
function kestrelConfig(...args: string[]) {
  const result = spawnSync(process.execPath, ['--conditions=kestrel-source', '--import', 'tsx', 'test/config/support/config-cli.ts', 'config', ...args], {
    cwd: root,
    encoding: 'utf8',
    env: { ...process.env, MQTT_PASSWORD: 'envsecret', KESTREL_CONFIG: '' },
  });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

function tempFile(name: string, text: string): string {
  const path = join(mkdtempSync(join(tmpdir(), 'kestrel-cli-')), name);
  writeFileSync(path, text);
  return path;
}

const BROKEN = `mqtt:
  url: "http://broker"
cameras:
  - name: door
    source: { type: demo }
  - name: door
    source: { type: rtsp, url: "http://cam/s", transprot: udp }
    fps: 0
`;

test('kestrel config check: a valid file exits 0 and says which cameras it has', () => {
  const { code, stdout } = kestrelConfig('check', example);
  assert.equal(code, 0);
  assert.match(stdout, /ok \(device warehouse-pi-1, cameras: loading_dock, office_webcam, replay\)/);
});

test('kestrel config check: an invalid file exits 1 with every error and its path on stderr', () => {
  const file = tempFile('broken.yaml', BROKEN);
  const { code, stdout, stderr } = kestrelConfig('check', file);
  assert.equal(code, 1);
  assert.equal(stdout, '');
  assert.match(stderr, /5 errors/);
  for (const line of [
    'mqtt.url: must be a broker URL',
    'cameras[1].name: duplicate camera name "door" (also at [0]) (line 6)',
    'cameras[1].source.url: must be an rtsp:// or rtsps:// URL',
    'cameras[1].source.transprot: unknown key "transprot" (did you mean "transport"?) (line 7)',
    'cameras[1].fps: must be > 0 (line 8)',
  ]) {
    assert.ok(stderr.includes(line), `missing "${line}" in:\n${stderr}`);
  }
});

test('kestrel config check --json: { ok, errors } on stdout', () => {
  const bad = kestrelConfig('check', '--json', tempFile('broken.yaml', BROKEN));
  assert.equal(bad.code, 1);
  const report = JSON.parse(bad.stdout) as { ok: boolean; errors: { path: string; message: string; line?: number }[] };
  assert.equal(report.ok, false);
  assert.deepEqual(report.errors.map((e) => e.path), ['mqtt.url', 'cameras[1].name', 'cameras[1].source.url', 'cameras[1].source.transprot', 'cameras[1].fps']);
  assert.equal(report.errors[4].line, 8);

  const good = kestrelConfig('check', '--json', example);
  assert.equal(good.code, 0);
  assert.deepEqual(JSON.parse(good.stdout), { ok: true, errors: [] });

  const missing = kestrelConfig('check', '--json', '/nonexistent/k.yaml');
  assert.equal(missing.code, 1);
  assert.match((JSON.parse(missing.stdout) as { errors: { message: string }[] }).errors[0].message, /does not exist/);
});

test('kestrel config check: a YAML syntax error gives its line and column', () => {
  const { code, stderr } = kestrelConfig('check', tempFile('syntax.yaml', 'mqtt:\n  url: "mqtt://x:1883\n'));
  assert.equal(code, 1);
  assert.match(stderr, /line \d+, column \d+: YAML: Missing closing "quote/);
});

test('kestrel config schema prints the JSON Schema, or writes it with --out', () => {
  const printed = kestrelConfig('schema');
  assert.equal(printed.code, 0);
  const schema = JSON.parse(printed.stdout) as { title: string; properties: Record<string, unknown> };
  assert.equal(schema.title, 'Kestrel agent configuration');
  assert.ok('cameras' in schema.properties);

  const out = join(mkdtempSync(join(tmpdir(), 'kestrel-schema-')), 'kestrel.schema.json');
  const written = kestrelConfig('schema', '--out', out);
  assert.equal(written.code, 0);
  assert.equal(written.stdout, '');
  assert.deepEqual(JSON.parse(readFileSync(out, 'utf8')), schema);
});

test('kestrel config show prints the effective config without secrets', () => {
  const { code, stdout } = kestrelConfig('show', example);
  assert.equal(code, 0);
  assert.match(stdout, /^# effective config of .*kestrel\.example\.yaml/);
  assert.match(stdout, /password: "\[redacted\]"/);
  assert.match(stdout, /url: rtsp:\/\/\[redacted\]@192\.168\.10\.21:554\/stream1/);
  assert.ok(!stdout.includes('envsecret'), 'the password from the environment stays hidden');
  assert.match(stdout, /lostSeconds: 4/);
});

const BROKEN_HUB = `bind: localhost
limits:
  maxBatch: 0
mqtt:
  prefx: site1
`;

test('kestrel config check --hub: the hub example exits 0 and says where the hub listens and keeps its data', () => {
  const hubExample = hubExampleOnItsHub();
  const { code, stdout } = kestrelConfig('check', '--hub', hubExample);
  assert.equal(code, 0);
  assert.equal(stdout, `${hubExample}: ok (hub on http://127.0.0.1:8470, data in ${join(dirname(hubExample), 'hub-data')}, following mqtt://127.0.0.1:1883)\n`);
});

test('kestrel config check --hub: a hub on PostgreSQL and S3 says where its records and blobs are, without the password', () => {
  const file = tempFile('hub.yaml', 'records: { type: postgres, url: "postgres://kestrel:topsecret@db.example:5432/kestrel" }\nblobs: { type: s3, bucket: kestrel-blobs, endpoint: "http://10.0.0.5:9000", forcePathStyle: true }\n');
  const { code, stdout } = kestrelConfig('check', '--hub', file);
  assert.equal(code, 0);
  assert.equal(stdout, `${file}: ok (hub on http://127.0.0.1:8470, records in postgres://kestrel:***@db.example:5432/kestrel, blobs in s3://kestrel-blobs at http://10.0.0.5:9000, following mqtt://127.0.0.1:1883)\n`);
});

test('kestrel config check --hub: an invalid hub file exits 1 with every error, its path and line (--json too)', () => {
  const file = tempFile('hub.yaml', BROKEN_HUB);
  const { code, stdout, stderr } = kestrelConfig('check', '--hub', file);
  assert.equal(code, 1);
  assert.equal(stdout, '');
  assert.match(stderr, /hub\.yaml: 3 errors\n/);
  for (const line of ['bind: must be host:port', 'limits.maxBatch: must be > 0 (line 3)', 'mqtt.prefx: unknown key "prefx" (did you mean "prefix"?) (line 5)']) {
    assert.ok(stderr.includes(line), `missing "${line}" in:\n${stderr}`);
  }

  const json = kestrelConfig('check', '--hub', '--json', file);
  assert.equal(json.code, 1);
  assert.deepEqual((JSON.parse(json.stdout) as { errors: { path: string }[] }).errors.map((e) => e.path), ['bind', 'limits.maxBatch', 'mqtt.prefx']);

  const missing = kestrelConfig('check', '--hub', '/nonexistent/hub.yaml');
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /hub config \/nonexistent\/hub\.yaml does not exist/);
});

test('kestrel config schema --hub and show --hub: the hub config\'s JSON Schema, and its effective values without secrets', () => {
  const printed = kestrelConfig('schema', '--hub');
  assert.equal(printed.code, 0);
  const schema = JSON.parse(printed.stdout) as { title: string; properties: Record<string, unknown> };
  assert.equal(schema.title, 'Kestrel hub configuration');
  assert.deepEqual(Object.keys(schema.properties), ['bind', 'dataDir', 'records', 'blobs', 'tls', 'limits', 'timeouts', 'mqtt', 'replica', 'rollouts', 'review', 'log']);

  const file = tempFile('hub.yaml', 'mqtt: { username: kestrel-hub, password: "${MQTT_PASSWORD}" }\n');
  const { code, stdout } = kestrelConfig('show', '--hub', file);
  assert.equal(code, 0, stdout);
  assert.match(stdout, /^# effective hub config of .*hub\.yaml\n/);
  assert.match(stdout, /password: "\[redacted\]"/);
  assert.match(stdout, /maxBatch: 64/);
  assert.ok(!stdout.includes('envsecret'), 'the password from the environment stays hidden');
});

// The hub config: defaults, paths relative to the file, and errors that name the path and line.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseHubConfig } from '@kestrel/config';

const parse = (yaml: string, env: Record<string, string> = {}) => parseHubConfig(yaml, { name: 'hub.yaml', baseDir: '/etc/kestrel', env, cwd: '/' });

function errorOf(yaml: string): string {
  try {
    parse(yaml);
  } catch (err) {
    return (err as Error).message;
  }
  throw new Error('expected an error');
}

test('an empty hub config gets every default, data beside the config file', () => {
  const c = parse('');
  assert.equal(c.bind, '127.0.0.1:8470');
  assert.equal(c.dataDir, '/etc/kestrel/hub-data');
  assert.deepEqual(c.records, { type: 'sqlite', path: '/etc/kestrel/hub-data/hub.sqlite' });
  assert.deepEqual(c.blobs, { type: 'filesystem', path: '/etc/kestrel/hub-data/blobs' });
  assert.deepEqual(c.limits, {
    maxBodyBytes: 32 * 2 ** 20,
    maxImageBytes: 4 * 2 ** 20,
    maxImagePixels: 4096 * 4096,
    maxBatchPixels: 2 ** 27,
    maxBatch: 64,
    maxDetections: 1000,
    decodeSlots: 2,
    decodeWaiting: 32,
  });
  assert.deepEqual(c.timeouts, { idleSeconds: 30, headersSeconds: 20, requestSeconds: 120 });
  assert.equal(c.mqtt.enabled, true);
  assert.equal(c.mqtt.prefix, 'kestrel');
  assert.equal(c.mqtt.samples, false);
});

test('image and connection limits that contradict each other, or would disable themselves, are errors naming the key', () => {
  assert.match(errorOf('limits: { maxImagePixels: 1000000, maxBatchPixels: 999999 }\n'), /limits\.maxBatchPixels: must be at least maxImagePixels \(1000000\)/);
  assert.match(errorOf('limits: { decodeSlots: 0 }\n'), /limits\.decodeSlots/);
  assert.match(errorOf('timeouts: { headersSeconds: 60, requestSeconds: 30 }\n'), /timeouts\.headersSeconds: must not be longer than timeouts\.requestSeconds \(30\)/);
  assert.match(errorOf('timeouts: { idleSeconds: 0 }\n'), /timeouts\.idleSeconds/);
  assert.match(errorOf('timeouts: { idle: 5 }\n'), /timeouts\.idle: unknown key "idle" \(known keys: idleSeconds, headersSeconds, requestSeconds\)/);
});

test('paths are taken from the config file folder; ${VAR} references are resolved', () => {
  const c = parse('dataDir: /srv/hub\nrecords: { path: db/hub.sqlite }\nmqtt: { password: "${HUB_MQTT_PASSWORD}" }\nlimits: { maxImageBytes: 1MiB }\n', { HUB_MQTT_PASSWORD: 's3cret' });
  assert.deepEqual(c.records, { type: 'sqlite', path: '/etc/kestrel/db/hub.sqlite' });
  assert.deepEqual(c.blobs, { type: 'filesystem', path: '/srv/hub/blobs' });
  assert.equal(c.mqtt.password, 's3cret');
  assert.equal(c.limits.maxImageBytes, 2 ** 20);
});

test('mistakes are listed with path and line, as the agent config does', () => {
  const message = errorOf('bind: localhost\nmqtt:\n  prefx: site1\n  url: http://broker\nlimits: { maxBodyBytes: 1000, maxImageBytes: 1000 }\n');
  assert.match(message, /^hub config hub\.yaml has 4 errors:/);
  assert.match(message, /bind: must be host:port, e\.g\. 127\.0\.0\.1:9464.* \(line 1\)/);
  assert.match(message, /mqtt\.prefx: unknown key "prefx" \(did you mean "prefix"\?\) \(line 3\)/);
  assert.match(message, /mqtt\.url: must be a broker URL.* \(line 4\)/);
  assert.match(message, /limits\.maxBodyBytes: must leave room for one base64 image of maxImageBytes \(1000\): at least 1340 \(line 5\)/);
  assert.match(errorOf('- a list\n'), /must be a mapping of settings/);
  assert.match(errorOf('bind: [\n'), /line 1|YAML/);
  assert.match(errorOf('mqtt: { password: "${NOPE}" }\n'), /mqtt\.password: environment variable NOPE is not set/);
});

test('a TLS certificate or key that is not there is a config error naming its path, and the hub exits 2 without a stack trace', async () => {
  assert.match(errorOf('tls: { cert: /nonexistent/hub.crt, key: /nonexistent/hub.key }\n'), /tls\.cert: \/nonexistent\/hub\.crt does not exist on this machine[\s\S]*tls\.key: \/nonexistent\/hub\.key does not exist/);
  const { mkdtempSync, writeFileSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const { runKestrel } = await import('../../support/cli.js');
  const dir = mkdtempSync(join(tmpdir(), 'kestrel-hub-tls-'));
  const config = join(dir, 'hub.yaml');
  writeFileSync(config, `dataDir: ${join(dir, 'data')}\nbind: 127.0.0.1:0\nmqtt: { enabled: false }\ntls: { cert: missing.crt, key: missing.key }\n`);
  const run = await runKestrel(['hub', '--config', config], { timeoutMs: 30_000 });
  assert.equal(run.code, 2, run.stderr);
  assert.match(run.stderr, /tls\.cert: .*missing\.crt does not exist on this machine/);
  assert.doesNotMatch(run.stderr, /\n\s+at /);
});

test('records on PostgreSQL: a postgres:// URL (password from ${VAR}), pool and timeouts defaulted; SQLite stays the default, with or without type', () => {
  const c = parse('records: { type: postgres, url: "postgres://kestrel:${PGPASS}@db.example:5432/kestrel", schema: hub }\n', { PGPASS: 'pw' });
  assert.deepEqual(c.records, { type: 'postgres', url: 'postgres://kestrel:pw@db.example:5432/kestrel', schema: 'hub', poolSize: 10, connectTimeoutSeconds: 5, queryTimeoutSeconds: 30 });
  assert.deepEqual(parse('').records, { type: 'sqlite', path: '/etc/kestrel/hub-data/hub.sqlite' });
  assert.deepEqual(parse('records: { type: sqlite }\n').records, { type: 'sqlite', path: '/etc/kestrel/hub-data/hub.sqlite' });
});

test('a PostgreSQL URL or schema that could not work is an error naming the key, never echoing the password', () => {
  const bad = (url: string) => errorOf(`records: { type: postgres, url: "${url}" }\n`);
  assert.match(bad('mysql://u:topsecret@db/kestrel'), /records\.url: must be a postgres:\/\/ URL .*: it has the scheme "mysql", not postgres \(line 1\)/);
  assert.match(bad('postgres://u:topsecret@db.example'), /records\.url: .*it names no database/);
  assert.match(bad('db.example:5432'), /records\.url: .*it is not a URL|records\.url: .*scheme/);
  assert.doesNotMatch(bad('mysql://u:topsecret@db/kestrel'), /topsecret/);
  assert.match(errorOf('records: { type: postgres }\n'), /records\.url/);
  assert.match(errorOf('records: { type: postgres, url: "postgres://db/k", schema: "Hub-1" }\n'), /records\.schema: must be a lower-case SQL name/);
  assert.match(errorOf('records: { type: postgres, url: "postgres://db/k", path: x.db }\n'), /records\.path: unknown key "path"/);
  assert.match(errorOf('records: { type: mongodb }\n'), /records\.type: unknown .*"mongodb" \(known: sqlite, postgres\)/);
});

test('blobs on S3: bucket, endpoint, region, credentials from ${VAR}, forcePathStyle; bad names and URLs are errors naming the key', () => {
  const c = parse('blobs:\n  type: s3\n  bucket: kestrel-blobs\n  endpoint: http://127.0.0.1:9000\n  forcePathStyle: true\n  credentials: { accessKeyId: "${S3_KEY}", secretAccessKey: "${S3_SECRET}" }\n', { S3_KEY: 'AK', S3_SECRET: 'SK' });
  assert.deepEqual(c.blobs, { type: 's3', bucket: 'kestrel-blobs', endpoint: 'http://127.0.0.1:9000', region: 'us-east-1', forcePathStyle: true, credentials: { accessKeyId: 'AK', secretAccessKey: 'SK' } });
  assert.deepEqual(parse('blobs: { type: s3, bucket: b.example }\n').blobs, { type: 's3', bucket: 'b.example', region: 'us-east-1', forcePathStyle: false });
  assert.deepEqual(parse('blobs: { path: /srv/blobs }\n').blobs, { type: 'filesystem', path: '/srv/blobs' });
  assert.match(errorOf('blobs: { type: s3, bucket: Kestrel_Blobs }\n'), /blobs\.bucket: must be an S3 bucket name: it may hold only lower-case letters/);
  assert.match(errorOf('blobs: { type: s3, bucket: ab }\n'), /blobs\.bucket: .*it is 2 characters long/);
  assert.match(errorOf('blobs: { type: s3 }\n'), /blobs\.bucket/);
  assert.match(errorOf('blobs: { type: s3, bucket: kbk, endpoint: "127.0.0.1:9000" }\n'), /blobs\.endpoint: must be an http:\/\/ or https:\/\/ URL/);
  assert.match(errorOf('blobs: { type: s3, bucket: kbk, credentials: { accessKeyId: "${NOPE}", secretAccessKey: x } }\n'), /blobs\.credentials\.accessKeyId: environment variable NOPE is not set/);
  assert.match(errorOf('blobs: { type: s3, bucket: kbk, credentials: { accessKeyId: a } }\n'), /blobs\.credentials\.secretAccessKey/);
  assert.match(errorOf('blobs: { type: s3, bucket: kbk, forcePathstyle: true }\n'), /blobs\.forcePathstyle: unknown key "forcePathstyle" \(did you mean "forcePathStyle"\?\)/);
});

test('review.classes: absent by default (any sensible name), else a list of distinct names of at most 64 characters', () => {
  assert.equal(parse('').review.classes, undefined);
  assert.deepEqual(parse('review: { classes: [person, forklift] }').review.classes, ['person', 'forklift']);
  assert.match(errorOf('review: { classes: [person, person] }'), /review\.classes.*lists a class twice/);
  assert.match(errorOf('review: { classes: [] }'), /review\.classes/);
  assert.match(errorOf(`review: { classes: [${'x'.repeat(65)}] }`), /review\.classes/);
});

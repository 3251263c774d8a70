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
  assert.equal(c.records.path, '/etc/kestrel/hub-data/hub.sqlite');
  assert.equal(c.blobs.path, '/etc/kestrel/hub-data/blobs');
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
  assert.equal(c.records.path, '/etc/kestrel/db/hub.sqlite');
  assert.equal(c.blobs.path, '/srv/hub/blobs');
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

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkConfig, createConfigSchema, deviceIdFromHostname, loadConfig, parseBind, type LoadedConfig } from '@kestrel/config';

function load(text: string, env: Record<string, string> = {}): LoadedConfig {
  const result = checkConfig({ text }, env);
  assert.ok(result.ok, `expected a valid config, got:\n${result.errors.map((e) => `${e.path}: ${e.message}`).join('\n')}`);
  return result.config;
}

function writeConfig(text: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'kestrel-config-'));
  const path = join(dir, 'kestrel.yaml');
  writeFileSync(path, text);
  return path;
}

test('with no config file the agent gets one demo camera, a local broker and every default', () => {
  const config = loadConfig(undefined, {});
  assert.deepEqual(
    config.cameras.map((c) => [c.name, c.source.type, c.enabled, c.fps]),
    [['demo', 'demo', true, 5]],
  );
  assert.equal(config.mqtt.url, 'mqtt://127.0.0.1:1883');
  assert.equal(config.mqtt.prefix, 'kestrel');
  assert.equal(config.mqtt.publishDetections, false);
  assert.equal(config.mqtt.statsIntervalSeconds, 10);
  assert.deepEqual(config.model.providers, ['tensorrt', 'cuda', 'cpu']);
  assert.equal(config.model.path, undefined, 'the agent resolves the bundled model itself');
  assert.equal(config.http.bind, '127.0.0.1:9464');
  assert.equal(config.cameras[0].filters.minScore, 0.35);
  assert.deepEqual(config.cameras[0].tracker, {
    minHits: 3,
    lostSeconds: 3,
    stationaryLostSeconds: 30,
    iouThreshold: 0.3,
    lowScore: 0.1,
    lowIouThreshold: 0.5,
    startScore: 0.5,
    classGroups: [['backpack', 'handbag', 'suitcase'], ['car', 'truck', 'bus'], ['bicycle', 'motorcycle']],
  });
  assert.deepEqual(config.cameras[0].motion, { enabled: true, threshold: 30, contourArea: 10, frameHeight: 100, lightningThreshold: 0.8, recheckSeconds: 5 });
  assert.equal(config.origin.path, null);
  assert.equal(config.origin.brokerExplicit, false);
  assert.equal(config.sampling.enabled, false);
});

test('a short stationary lost time is fine once motion gating is off (nothing waits for a recheck)', () => {
  const config = load('cameras:\n  - { name: a, source: { type: demo }, tracker: { stationaryLostSeconds: 4 }, motion: { enabled: false } }\n');
  assert.equal(config.cameras[0].motion.enabled, false);
  assert.equal(config.cameras[0].tracker.stationaryLostSeconds, 4);
});

test('device id defaults to the host name made topic-safe, and the client id follows it', () => {
  assert.equal(deviceIdFromHostname('Front-Door.local'), 'front-door');
  assert.equal(deviceIdFromHostname('pi 4 #2'), 'pi-4-2');
  assert.equal(deviceIdFromHostname('...'), 'kestrel');
  const config = load('device: { id: yard-pi }');
  assert.equal(config.device.id, 'yard-pi');
  assert.equal(config.device.name, 'yard-pi');
  assert.equal(config.mqtt.clientId, 'kestrel-yard-pi');
});

test('state lives in $STATE_DIRECTORY under systemd, else in ./.kestrel-state; the outbox under it', () => {
  const systemd = load('', { STATE_DIRECTORY: '/var/lib/kestrel:/var/lib/other' });
  assert.equal(systemd.stateDir, '/var/lib/kestrel');
  assert.equal(systemd.outbox.path, '/var/lib/kestrel/outbox.sqlite');
  const byHand = load('', {});
  assert.equal(byHand.stateDir, join(process.cwd(), '.kestrel-state'));
  const explicit = load('stateDir: /srv/k\noutbox: { path: /data/q.sqlite }', { STATE_DIRECTORY: '/var/lib/kestrel' });
  assert.equal(explicit.stateDir, '/srv/k');
  assert.equal(explicit.outbox.path, '/data/q.sqlite');
});

test('tracker score thresholds nest around filters.minScore by default: lowScore <= minScore <= startScore', () => {
  const config = load(
    'cameras:\n  - { name: a, source: { type: demo }, filters: { minScore: 0.05 } }\n  - { name: b, source: { type: demo }, filters: { minScore: 0.7 } }\n  - { name: c, source: { type: demo }, tracker: { lowScore: 0.2, startScore: 0.6 } }',
  );
  assert.deepEqual(config.cameras.map((c) => [c.tracker.lowScore, c.filters.minScore, c.tracker.startScore]), [
    [0.05, 0.05, 0.5],
    [0.1, 0.7, 0.7],
    [0.2, 0.35, 0.6],
  ]);
});

test('rtsp defaults to TCP; file sources loop in real time; v4l2 defaults to /dev/video0', () => {
  const config = load(`
cameras:
  - { name: a, source: { type: rtsp, url: "rtsp://cam/stream" } }
  - { name: b, source: { type: file, path: /videos/x.mp4 } }
  - { name: c, source: { type: v4l2 } }
`);
  assert.deepEqual(config.cameras[0].source, { type: 'rtsp', url: 'rtsp://cam/stream', transport: 'tcp' });
  assert.deepEqual(config.cameras[1].source, { type: 'file', path: '/videos/x.mp4', loop: true, realtime: true });
  assert.deepEqual(config.cameras[2].source, { type: 'v4l2', device: '/dev/video0' });
});

test('relative paths in a file are taken from the file\'s folder', () => {
  const path = writeConfig('model: { path: models/m.onnx }\ncameras:\n  - { name: a, source: { type: file, path: clips/a.mp4 } }\nmqtt: { url: "mqtts://b:8883", tls: { ca: ca.pem } }\n');
  const dir = join(path, '..');
  mkdirSync(join(dir, 'models'));
  writeFileSync(join(dir, 'models/m.onnx'), 'onnx');
  writeFileSync(join(dir, 'ca.pem'), 'pem');
  const config = loadConfig(path, {});
  assert.equal(config.model.path, join(dir, 'models/m.onnx'));
  assert.equal(config.cameras[0].source.type === 'file' && config.cameras[0].source.path, join(dir, 'clips/a.mp4'));
  assert.equal(config.mqtt.tls?.ca, join(dir, 'ca.pem'));
  assert.equal(config.origin.path, path);
});

test('KESTREL_* environment variables replace deployment values and secrets', () => {
  const envModel = join(mkdtempSync(join(tmpdir(), 'kestrel-env-model-')), 'env.onnx');
  writeFileSync(envModel, 'onnx');
  const config = load('mqtt: { url: "mqtt://file-broker:1883", username: fromfile }\ndevice: { id: fromfile }', {
    KESTREL_MQTT_URL: 'mqtts://env-broker:8883',
    KESTREL_MQTT_USERNAME: 'envuser',
    KESTREL_MQTT_PASSWORD: 'envpass',
    KESTREL_DEVICE_ID: 'env-device',
    KESTREL_STATE_DIR: '/tmp/kestrel-env-state',
    KESTREL_MODEL_PATH: envModel,
    KESTREL_HTTP_BIND: '0.0.0.0:9999',
    KESTREL_LOG_LEVEL: 'debug',
  });
  assert.equal(config.mqtt.url, 'mqtts://env-broker:8883');
  assert.equal(config.mqtt.username, 'envuser');
  assert.equal(config.mqtt.password, 'envpass');
  assert.equal(config.device.id, 'env-device');
  assert.equal(config.stateDir, '/tmp/kestrel-env-state');
  assert.equal(config.outbox.path, '/tmp/kestrel-env-state/outbox.sqlite');
  assert.equal(config.model.path, envModel);
  assert.equal(config.http.bind, '0.0.0.0:9999');
  assert.equal(config.log.level, 'debug');
  assert.deepEqual(
    config.origin.envOverrides.map((o) => o.env).sort(),
    ['KESTREL_DEVICE_ID', 'KESTREL_HTTP_BIND', 'KESTREL_LOG_LEVEL', 'KESTREL_MODEL_PATH', 'KESTREL_MQTT_PASSWORD', 'KESTREL_MQTT_URL', 'KESTREL_MQTT_USERNAME', 'KESTREL_STATE_DIR'],
  );
});

test('an empty KESTREL_* variable counts as unset', () => {
  const config = load('mqtt: { url: "mqtt://file-broker:1883" }', { KESTREL_MQTT_URL: '' });
  assert.equal(config.mqtt.url, 'mqtt://file-broker:1883');
});

test('a bad value from the environment is reported at its path, naming the variable', () => {
  const result = checkConfig({ text: '' }, { KESTREL_MQTT_URL: 'http://nope' });
  assert.equal(result.ok, false);
  assert.equal(result.errors[0].path, 'mqtt.url');
  assert.match(result.errors[0].message, /KESTREL_MQTT_URL/);
});

test('the embedded broker may start only when no broker was named (file or environment)', () => {
  assert.equal(load('').origin.brokerExplicit, false);
  assert.equal(load('mqtt:\n  # url: mqtt://x\n').origin.brokerExplicit, false, 'an empty mqtt section names no broker');
  assert.equal(load('mqtt: { prefix: site1, publishDetections: true }').origin.brokerExplicit, false, 'prefix alone names no broker');
  assert.equal(load('mqtt: { url: "mqtt://127.0.0.1:1883" }').origin.brokerExplicit, true);
  assert.equal(load('mqtt: { username: u, password: p }').origin.brokerExplicit, true);
  assert.equal(load('', { KESTREL_MQTT_URL: 'mqtt://10.0.0.2:1883' }).origin.brokerExplicit, true);
});

test('${VAR} in string values is replaced from the environment, with :- fallbacks and $${ escapes', () => {
  const config = load(
    `
mqtt:
  username: \${MQTT_USER}
  password: "\${MQTT_PASS:-fallback}"
device:
  name: "cost: $\${NOT_A_VAR} at \${SITE}"
cameras:
  - name: door
    source: { type: rtsp, url: "rtsp://\${CAM_USER}:\${CAM_PASS}@10.0.0.5:554/s1" }
`,
    { MQTT_USER: 'bob', CAM_USER: 'admin', CAM_PASS: 'p@ss', SITE: 'north' },
  );
  assert.equal(config.mqtt.username, 'bob');
  assert.equal(config.mqtt.password, 'fallback');
  assert.equal(config.device.name, 'cost: ${NOT_A_VAR} at north');
  assert.equal(config.cameras[0].source.type === 'rtsp' && config.cameras[0].source.url, 'rtsp://admin:p@ss@10.0.0.5:554/s1');
});

test('an unset ${VAR} is an error at the path that uses it', () => {
  const result = checkConfig({ text: 'cameras:\n  - name: door\n    source: { type: rtsp, url: "rtsp://u:${CAM_PASS}@h/s" }\n' }, {});
  assert.equal(result.ok, false);
  assert.deepEqual(
    result.errors.map((e) => e.path),
    ['cameras[0].source.url'],
    'only the unset variable is reported, not the follow-on URL error',
  );
  assert.match(result.errors[0].message, /CAM_PASS is not set/);
  assert.equal(result.errors[0].line, 3);
});

test('cameras can share settings through YAML anchors and merge keys', () => {
  const config = load(`
cameras:
  - &defaults
    name: a
    source: { type: demo }
    fps: 8
    filters: { classes: [person], minScore: 0.5 }
  - <<: *defaults
    name: b
`);
  assert.deepEqual(
    config.cameras.map((c) => [c.name, c.fps, c.filters.classes, c.filters.minScore]),
    [
      ['a', 8, ['person'], 0.5],
      ['b', 8, ['person'], 0.5],
    ],
  );
});

test('sizes may be written with units', () => {
  assert.equal(load('outbox: { maxBytes: 64MiB }').outbox.maxBytes, 64 * 1024 * 1024);
  assert.equal(load('outbox: { maxBytes: 1GB }').outbox.maxBytes, 1e9);
  assert.equal(load('outbox: { maxBytes: 5000 }').outbox.maxBytes, 5000);
});

test('model overrides: inputSize as a side or [width, height]', () => {
  assert.deepEqual(load('model: { decoder: yolov8, labels: [a, b], inputSize: 640 }').model.inputSize, [640, 640]);
  assert.deepEqual(load('model: { inputSize: [640, 384] }').model.inputSize, [640, 384]);
});

test('a loaded config is itself a valid config that loads to the same values', () => {
  const { origin: _origin, ...first } = loadConfig(writeConfig('cameras:\n  - { name: a, source: { type: file, path: a.mp4 }, fps: 3 }\noutbox: { maxBytes: 2MiB }\n'), {});
  const again = createConfigSchema({ baseDir: '/elsewhere', cwd: '/elsewhere', deviceId: 'other', stateDir: '/other' }).parse(first);
  assert.deepEqual(again, first);
});

test('http.bind parses host and port, IPv6 included', () => {
  assert.deepEqual(parseBind('127.0.0.1:9464'), { host: '127.0.0.1', port: 9464 });
  assert.deepEqual(parseBind('[::]:80'), { host: '::', port: 80 });
  assert.throws(() => parseBind('9464'), /host:port/);
});

test('loadConfig reads $KESTREL_CONFIG when no path is given', () => {
  const path = writeConfig('device: { id: from-env-path }\n');
  assert.equal(loadConfig(undefined, { KESTREL_CONFIG: path }).device.id, 'from-env-path');
});

test('a missing config file is a clear E_CONFIG error naming it', () => {
  assert.throws(
    () => loadConfig('/nonexistent/kestrel.yaml', {}),
    (err: Error & { code?: string }) => err.code === 'E_CONFIG' && err.message === 'config file /nonexistent/kestrel.yaml does not exist',
  );
});

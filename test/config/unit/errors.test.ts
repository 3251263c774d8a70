import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkConfig, formatIssue, loadConfig, type ConfigIssue } from '@kestrel/config';

function errorsOf(text: string, env: Record<string, string> = {}): ConfigIssue[] {
  const result = checkConfig({ text }, env);
  assert.equal(result.ok, false, `expected errors for:\n${text}`);
  return result.errors;
}

const rtsp = (url: string) => `cameras:\n  - name: a\n    source: { type: rtsp, url: "${url}" }\n`;

/** [what is wrong, config text, exact path reported, message pattern] */
const CASES: [string, string, string, RegExp][] = [
  ['rtsp url that is not rtsp://', `cameras:\n  - { name: a, source: { type: demo } }\n  - name: b\n    source: { type: rtsp, url: "http://cam/x" }\n`, 'cameras[1].source.url', /rtsp:\/\/ or rtsps:\/\//],
  ['rtsp url missing', `cameras:\n  - { name: a, source: { type: rtsp } }\n`, 'cameras[0].source.url', /is required/],
  ['unknown source type', `cameras:\n  - { name: a, source: { type: rtmp } }\n`, 'cameras[0].source.type', /unknown source type "rtmp" \(known: rtsp, file, v4l2, demo\)/],
  ['source without a type', `cameras:\n  - { name: a, source: { url: "rtsp://x/y" } }\n`, 'cameras[0].source.type', /is required \(one of rtsp, file, v4l2, demo\)/],
  ['bad rtsp transport', `cameras:\n  - { name: a, source: { type: rtsp, url: "rtsp://x/y", transport: http } }\n`, 'cameras[0].source.transport', /one of "tcp", "udp", got "http"/],
  ['fps of zero', `cameras:\n  - { name: a, source: { type: demo }, fps: 0 }\n`, 'cameras[0].fps', /must be > 0/],
  ['negative fps', `cameras:\n  - { name: a, source: { type: demo }, fps: -2 }\n`, 'cameras[0].fps', /must be > 0/],
  ['fps as text', `cameras:\n  - { name: a, source: { type: demo }, fps: fast }\n`, 'cameras[0].fps', /expected a number, got "fast"/],
  ['zone polygon with two points', `cameras:\n  - name: a\n    source: { type: demo }\n    filters:\n      zones:\n        - { name: z, polygon: [[0, 0], [10, 10]] }\n`, 'cameras[0].filters.zones[0].polygon', /at least 3 points/],
  ['zone point that is not [x, y]', `cameras:\n  - name: a\n    source: { type: demo }\n    filters:\n      zones:\n        - { name: z, polygon: [[0, 0], [10, 10], [5]] }\n`, 'cameras[0].filters.zones[0].polygon[2]', /./],
  ['duplicate zone names', `cameras:\n  - name: a\n    source: { type: demo }\n    filters:\n      zones:\n        - { name: z, polygon: [[0, 0], [10, 0], [5, 5]] }\n        - { name: z, polygon: [[0, 0], [10, 0], [5, 5]] }\n`, 'cameras[0].filters.zones[1].name', /duplicate zone name "z"/],
  ['mask polygon with two points', `cameras:\n  - name: a\n    source: { type: demo }\n    privacy:\n      masks:\n        - { polygon: [[0, 0], [10, 10]] }\n`, 'cameras[0].privacy.masks[0].polygon', /at least 3 points/],
  ['mask point that is not a number', `cameras:\n  - name: a\n    source: { type: demo }\n    privacy:\n      masks:\n        - { polygon: [[0, 0], [10, 0], [5, top]] }\n`, 'cameras[0].privacy.masks[0].polygon[2][1]', /expected a number/],
  ['mask point at infinity', `cameras:\n  - name: a\n    source: { type: demo }\n    privacy:\n      masks:\n        - { polygon: [[0, 0], [.inf, 0], [5, 5]] }\n`, 'cameras[0].privacy.masks[0].polygon[1][0]', /expected a number, got number Infinity/],
  ['mask with no area', `cameras:\n  - name: a\n    source: { type: demo }\n    privacy:\n      masks:\n        - { polygon: [[0, 0], [10, 10], [20, 20]] }\n`, 'cameras[0].privacy.masks[0].polygon', /has no area/],
  ['duplicate mask names', `cameras:\n  - name: a\n    source: { type: demo }\n    privacy:\n      masks:\n        - { name: m, polygon: [[0, 0], [10, 0], [5, 5]] }\n        - { name: m, polygon: [[0, 0], [10, 0], [5, 5]] }\n`, 'cameras[0].privacy.masks[1].name', /duplicate mask name "m" \(also at \[0\]\)/],
  ['mask name with a space', `cameras:\n  - name: a\n    source: { type: demo }\n    privacy:\n      masks:\n        - { name: "my window", polygon: [[0, 0], [10, 0], [5, 5]] }\n`, 'cameras[0].privacy.masks[0].name', /letters, digits/],
  ['maskBeforeInference as text', `cameras:\n  - name: a\n    source: { type: demo }\n    privacy:\n      maskBeforeInference: sometimes\n`, 'cameras[0].privacy.maskBeforeInference', /expected a boolean/],
  ['unknown key in privacy', `cameras:\n  - name: a\n    source: { type: demo }\n    privacy:\n      mask: []\n`, 'cameras[0].privacy.mask', /did you mean "masks"/],
  ['snapshot quality above 100', `cameras:\n  - { name: a, source: { type: demo }, snapshots: { quality: 101 } }\n`, 'cameras[0].snapshots.quality', /<= 100/],
  ['snapshot drawBox as text', `cameras:\n  - { name: a, source: { type: demo }, snapshots: { drawBox: yes please } }\n`, 'cameras[0].snapshots.drawBox', /expected a boolean/],
  ['snapshot retain of 0 minutes', `cameras:\n  - { name: a, source: { type: demo }, snapshots: { retain: { minutes: 0 } } }\n`, 'cameras[0].snapshots.retain.minutes', /> 0/],
  ['unknown key in snapshots', `cameras:\n  - { name: a, source: { type: demo }, snapshots: { bounding_box: true } }\n`, 'cameras[0].snapshots.bounding_box', /unknown key/],
  ['snapshot upload without sampling', `cameras:\n  - { name: a, source: { type: demo } }\n  - { name: b, source: { type: demo }, snapshots: { upload: true } }\n`, 'cameras[1].snapshots.upload', /needs sampling\.enabled: true/],
  ['duplicate camera names', `cameras:\n  - { name: door, source: { type: demo } }\n  - { name: door, source: { type: demo } }\n`, 'cameras[1].name', /duplicate camera name "door" \(also at \[0\]\)/],
  ['camera name with a slash', `cameras:\n  - { name: "front/door", source: { type: demo } }\n`, 'cameras[0].name', /letters, digits/],
  ['camera name with a wildcard', `cameras:\n  - { name: "door+", source: { type: demo } }\n`, 'cameras[0].name', /letters, digits/],
  ['empty camera list', `cameras: []\n`, 'cameras', /at least one camera/],
  ['minScore above 1', `cameras:\n  - { name: a, source: { type: demo }, filters: { minScore: 1.5 } }\n`, 'cameras[0].filters.minScore', /<= 1/],
  ['empty classes list', `cameras:\n  - { name: a, source: { type: demo }, filters: { classes: [] } }\n`, 'cameras[0].filters.classes', /at least one label/],
  ['tracker iou of 1', `cameras:\n  - { name: a, source: { type: demo }, tracker: { iouThreshold: 1 } }\n`, 'cameras[0].tracker.iouThreshold', /< 1/],
  ['tracker low iou of 0', `cameras:\n  - { name: a, source: { type: demo }, tracker: { lowIouThreshold: 0 } }\n`, 'cameras[0].tracker.lowIouThreshold', /> 0/],
  ['tracker minHits of 0', `cameras:\n  - { name: a, source: { type: demo }, tracker: { minHits: 0 } }\n`, 'cameras[0].tracker.minHits', /> 0/],
  ['tracker lost time of 0', `cameras:\n  - { name: a, source: { type: demo }, tracker: { lostSeconds: 0 } }\n`, 'cameras[0].tracker.lostSeconds', /> 0/],
  ['tracker stationary lost time as text', `cameras:\n  - { name: a, source: { type: demo }, tracker: { stationaryLostSeconds: long } }\n`, 'cameras[0].tracker.stationaryLostSeconds', /expected a number, got "long"/],
  ['tracker lowScore above filters.minScore', `cameras:\n  - { name: a, source: { type: demo }, filters: { minScore: 0.3 }, tracker: { lowScore: 0.4 } }\n`, 'cameras[0].tracker.lowScore', /<= filters\.minScore \(0\.3\)/],
  ['tracker startScore below filters.minScore', `cameras:\n  - { name: a, source: { type: demo }, tracker: { startScore: 0.2 } }\n`, 'cameras[0].tracker.startScore', />= filters\.minScore \(0\.35\)/],
  ['motion threshold of 0', `cameras:\n  - { name: a, source: { type: demo }, motion: { threshold: 0 } }\n`, 'cameras[0].motion.threshold', />= 1/],
  ['motion threshold above 255', `cameras:\n  - { name: a, source: { type: demo }, motion: { threshold: 300 } }\n`, 'cameras[0].motion.threshold', /<= 255/],
  ['motion contourArea of 0', `cameras:\n  - { name: a, source: { type: demo }, motion: { contourArea: 0 } }\n`, 'cameras[0].motion.contourArea', /./],
  ['motion lightningThreshold above 1', `cameras:\n  - { name: a, source: { type: demo }, motion: { lightningThreshold: 1.5 } }\n`, 'cameras[0].motion.lightningThreshold', /<= 1/],
  ['motion enabled as text', `cameras:\n  - { name: a, source: { type: demo }, motion: { enabled: sometimes } }\n`, 'cameras[0].motion.enabled', /expected a boolean/],
  ['motion recheck of 0', `cameras:\n  - { name: a, source: { type: demo }, motion: { recheckSeconds: 0 } }\n`, 'cameras[0].motion.recheckSeconds', /must be > 0/],
  ['motion recheck beyond the stationary lost time', `cameras:\n  - { name: a, source: { type: demo }, tracker: { stationaryLostSeconds: 8 }, motion: { recheckSeconds: 9 } }\n`, 'cameras[0].motion.recheckSeconds', /< tracker\.stationaryLostSeconds \(8\)/],
  ['motion recheck beyond the health check', `cameras:\n  - { name: a, source: { type: demo }, motion: { recheckSeconds: 12 } }\n`, 'cameras[0].motion.recheckSeconds', /<= 10/],
  ['motion recheck beyond a short stationary lost time', `cameras:\n  - { name: a, source: { type: demo }, tracker: { stationaryLostSeconds: 4 }, motion: { recheckSeconds: 5 } }\n`, 'cameras[0].motion.recheckSeconds', /< tracker\.stationaryLostSeconds \(4\)/],
  ['stationary lost time within the default recheck', `cameras:\n  - { name: a, source: { type: demo }, tracker: { stationaryLostSeconds: 4 } }\n`, 'cameras[0].motion.recheckSeconds', /< tracker\.stationaryLostSeconds \(4\)/],
  ['unknown key in motion', `cameras:\n  - { name: a, source: { type: demo }, motion: { treshold: 20 } }\n`, 'cameras[0].motion.treshold', /did you mean "threshold"/],
  ['tracker lowScore of 0', `cameras:\n  - { name: a, source: { type: demo }, tracker: { lowScore: 0 } }\n`, 'cameras[0].tracker.lowScore', /> 0/],
  ['tracker startScore above 1', `cameras:\n  - { name: a, source: { type: demo }, tracker: { startScore: 2 } }\n`, 'cameras[0].tracker.startScore', /<= 1/],
  ['tracker class group of one label', `cameras:\n  - { name: a, source: { type: demo }, tracker: { classGroups: [[car, truck], [bus]] } }\n`, 'cameras[0].tracker.classGroups[1]', /at least two labels/],
  ['tracker label in two class groups', `cameras:\n  - { name: a, source: { type: demo }, tracker: { classGroups: [[car, truck], [bus, car]] } }\n`, 'cameras[0].tracker.classGroups[1][1]', /label "car" is already in group \[0\]/],
  ['tracker maxAge (now lostSeconds)', `cameras:\n  - { name: a, source: { type: demo }, tracker: { maxAge: 10 } }\n`, 'cameras[0].tracker.maxAge', /unknown key "maxAge" \(known keys: minHits, lostSeconds,/],
  ['watchdog backoff min above max', `cameras:\n  - { name: a, source: { type: demo }, watchdog: { backoff: { minMs: 5000, maxMs: 100 } } }\n`, 'cameras[0].watchdog.backoff.maxMs', /must be >= minMs \(5000\)/],
  ['a signature threshold above the trusted keys', `update:\n  trustedKeys: [{ publicKey: "${Buffer.alloc(32, 7).toString('base64')}" }]\n  threshold: 2\n`, 'update.threshold', /needs 2 signatures but only 1 key is trusted/],
  ['v4l2 device that is not a path', `cameras:\n  - { name: a, source: { type: v4l2, device: video0 } }\n`, 'cameras[0].source.device', /must be a device path such as \/dev\/video0/],
  ['v4l2 input format with an option in it', `cameras:\n  - { name: a, source: { type: v4l2, inputFormat: "mjpeg -i x" } }\n`, 'cameras[0].source.inputFormat', /must be a pixel format name/],
  ['file source with an empty path', `cameras:\n  - { name: a, source: { type: file, path: "" } }\n`, 'cameras[0].source.path', /./],
  ['v4l2 width without height', `cameras:\n  - { name: a, source: { type: v4l2, width: 640 } }\n`, 'cameras[0].source.height', /width and height together/],
  ['mqtt url of another scheme', `mqtt: { url: "http://broker" }\n`, 'mqtt.url', /broker URL/],
  ['mqtt url with a space in the host', `mqtt: { url: "mqtt://a b:1883" }\n`, 'mqtt.url', /contains a space/],
  ['mqtt url with a port past 65535', `mqtt: { url: "mqtt://127.0.0.1:99999" }\n`, 'mqtt.url', /port 99999 is out of range/],
  ['mqtt url with an unclosed IPv6 bracket', `mqtt: { url: "mqtt://[::1" }\n`, 'mqtt.url', /not a valid URL/],
  ['stats every microsecond', `mqtt: { statsIntervalSeconds: 0.000001 }\n`, 'mqtt.statsIntervalSeconds', /at least 1/],
  ['a TLS CA file that is not there', `mqtt: { url: "mqtts://b:8883", tls: { ca: /nonexistent/kestrel/ca.pem } }\n`, 'mqtt.tls.ca', /\/nonexistent\/kestrel\/ca\.pem does not exist on this machine/],
  ['a model file that is not there', `model: { path: /nonexistent/kestrel/m.onnx }\n`, 'model.path', /\/nonexistent\/kestrel\/m\.onnx does not exist on this machine/],
  ['a model path that is a folder', `model: { path: /tmp }\n`, 'model.path', /\/tmp is not a file/],
  ['a trusted key that is garbage', `update: { enabled: true, trustedKeys: [{ publicKey: "not a key!" }] }\n`, 'update.trustedKeys[0].publicKey', /not an Ed25519 public key \(SPKI PEM, SPKI DER in base64, or the raw 32-byte key in base64\)/],
  ['a trusted key of the wrong length', `update: { enabled: true, trustedKeys: [{ publicKey: "AAAA" }] }\n`, 'update.trustedKeys[0].publicKey', /not an Ed25519 public key/],
  ['a camera stall of a millisecond', `cameras:\n  - { name: a, source: { type: demo }, watchdog: { stallSeconds: 0.001 } }\n`, 'cameras[0].watchdog.stallSeconds', /at least 1/],
  ['an MQTT reconnect every millisecond', `mqtt: { reconnect: { minMs: 1 } }\n`, 'mqtt.reconnect.minMs', /at least 50/],
  ['mqtt prefix with a wildcard', `mqtt: { prefix: "kestrel/#" }\n`, 'mqtt.prefix', /wildcards/],
  ['mqtt prefix starting with $', `mqtt: { prefix: "$SYS" }\n`, 'mqtt.prefix', /reserved/],
  ['tls with mqtt://', `mqtt: { url: "mqtt://b:1883", tls: { ca: ca.pem } }\n`, 'mqtt.url', /use mqtts:\/\//],
  ['tls cert without key', `mqtt: { url: "mqtts://b:8883", tls: { cert: c.pem } }\n`, 'mqtt.tls.key', /cert and key together/],
  ['password without username', `mqtt: { password: x }\n`, 'mqtt.username', /required when a password is given/],
  ['numeric password', `mqtt: { username: u, password: 1234 }\n`, 'mqtt.password', /expected a string, got a number|put it in quotes/],
  ['unknown provider', `model: { providers: [cuda, openvino] }\n`, 'model.providers[1]', /one of "tensorrt", "cuda", "cpu", got "openvino"/],
  ['provider twice', `model: { providers: [cpu, cpu] }\n`, 'model.providers[1]', /listed twice/],
  ['unknown decoder', `model: { decoder: yolov5 }\n`, 'model.decoder', /"yolov8", "nanodet", "kestrel"/],
  ['device id with a space', `device: { id: "my pi" }\n`, 'device.id', /letters, digits/],
  ['discovery prefix with a wildcard', `homeassistant: { enabled: true, discoveryPrefix: "homeassistant/#" }\n`, 'homeassistant.discoveryPrefix', /not a usable discovery prefix: .*wildcards/],
  ['discovery prefix ending in a slash', `homeassistant: { discoveryPrefix: "ha/" }\n`, 'homeassistant.discoveryPrefix', /start or end with "\/"/],
  ['homeassistant enabled as text', `homeassistant: { enabled: yes please }\n`, 'homeassistant.enabled', /expected a boolean|true or false/],
  ['a Home Assistant label with a slash', `homeassistant: { labels: [person, "car/truck"] }\n`, 'homeassistant.labels[1]', /cannot have label topics: .*"\/"/],
  ['a Home Assistant label listed twice', `homeassistant: { labels: [person, person] }\n`, 'homeassistant.labels[1]', /listed twice/],
  ['an empty Home Assistant label list', `homeassistant: { labels: [] }\n`, 'homeassistant.labels', /at least one label/],
  ['an unknown homeassistant key', `homeassistant: { discovery: true }\n`, 'homeassistant.discovery', /./],
  ['http bind without a port', `http: { bind: "0.0.0.0" }\n`, 'http.bind', /host:port/],
  ['http port above 65535', `http: { bind: "0.0.0.0:70000" }\n`, 'http.bind', /above 65535/],
  ['bad log level', `log: { level: verbose }\n`, 'log.level', /one of "fatal"/],
  ['bad size', `outbox: { maxBytes: lots }\n`, 'outbox.maxBytes', /size such as "64MiB"/],
  ['sampling range upside down', `sampling: { strategies: { uncertainty: { low: 0.7, high: 0.2 } } }\n`, 'sampling.strategies.uncertainty.high', /above low/],
  ['section that is a list', `mqtt: [a, b]\n`, 'mqtt', /expected a mapping/],
  ['unknown top-level key', `cameraz: []\n`, 'cameraz', /unknown key "cameraz" \(did you mean "cameras"\?\)/],
  ['unknown key in a camera', `cameras:\n  - { name: a, source: { type: demo }, fsp: 5 }\n`, 'cameras[0].fsp', /unknown key "fsp" \(did you mean "fps"\?\)/],
  ['unknown key in an rtsp source', `${rtsp('rtsp://x/y').trimEnd().slice(0, -2)}, tranport: udp }\n`, 'cameras[0].source.tranport', /did you mean "transport"/],
  ['malformed ${ reference', `device: { name: "cost \${oops" }\n`, 'device.name', /is not a variable reference/],
  ['unknown key with no near match', `mqtt: { zzzzzz: 1 }\n`, 'mqtt.zzzzzz', /unknown key "zzzzzz" \(known keys: url, prefix, /],
];

for (const [what, text, path, message] of CASES) {
  test(`config error names its path: ${what} → ${path}`, () => {
    const errors = errorsOf(text);
    const match = errors.find((e) => e.path === path);
    assert.ok(match, `no error at ${path}; got:\n${errors.map(formatIssue).join('\n')}`);
    assert.match(match.message, message);
  });
}

test('every problem is reported at once, each on the line it is written', () => {
  const text = [
    'mqtt:', //                                      1
    '  url: "http://b"', //                          2
    '  passwrd: x', //                               3
    'cameras:', //                                   4
    '  - name: door', //                             5
    '    source: { type: rtsp, url: "rtsp://c/s" }', // 6
    '    fps: 0', //                                 7
    '  - name: door', //                             8
    '    source: { type: rtspp }', //                9
    'bogus: 1', //                                   10
  ].join('\n');
  const errors = errorsOf(text);
  assert.deepEqual(
    errors.map((e) => [e.path, e.line]),
    [
      ['mqtt.url', 2],
      ['mqtt.passwrd', 3],
      ['cameras[0].fps', 7],
      ['cameras[1].name', 8],
      ['cameras[1].source.type', 9],
      ['bogus', 10],
    ],
  );
});

test('a YAML syntax error reports its line and column', () => {
  const errors = errorsOf('mqtt:\n  url: "mqtt://x:1883"\ncameras: [\n  { name: a\n');
  assert.equal(errors[0].path, '');
  assert.equal(typeof errors[0].line, 'number');
  assert.ok(errors[0].line! >= 3, `line ${errors[0].line}`);
  assert.match(formatIssue(errors[0]), /^line \d+, column \d+: YAML: /);
});

test('a repeated key is an error on the line of the repeat, not silently the last one', () => {
  const errors = errorsOf('device: { id: a }\nmqtt: { prefix: x }\ndevice: { id: b }\n');
  assert.deepEqual([errors[0].line, errors[0].column], [3, 1]);
  assert.match(errors[0].message, /unique/);
});

test('a config that is a list, not a mapping, says so', () => {
  assert.match(errorsOf('- a\n- b\n')[0].message, /must be a mapping of sections/);
});

test('error messages never show a password, even when it is the wrong value', () => {
  const errors = errorsOf('mqtt: { username: u, password: [hunter2] }\ncameras:\n  - { name: a, source: { type: rtsp, url: "rtsp://admin:hunter2@cam/s", transport: "x" } }\n');
  const text = errors.map(formatIssue).join('\n');
  assert.ok(errors.length >= 2, text);
  assert.doesNotMatch(text, /hunter2/);
});

test('loadConfig throws E_CONFIG listing every error, one per line, with paths', () => {
  assert.throws(
    () => loadConfig(undefined, { KESTREL_CONFIG: '', KESTREL_MQTT_URL: 'ftp://x', KESTREL_HTTP_BIND: 'nowhere' }),
    (err: Error & { code?: string; details?: { errors: ConfigIssue[] } }) => {
      assert.equal(err.code, 'E_CONFIG');
      const lines = err.message.split('\n');
      assert.match(lines[0], /has 2 errors:$/);
      assert.match(lines[1], /^ {2}mqtt\.url: .*KESTREL_MQTT_URL/);
      assert.match(lines[2], /^ {2}http\.bind: .*KESTREL_HTTP_BIND/);
      assert.equal(err.details?.errors.length, 2);
      return true;
    },
  );
});

test('a YAML alias bomb is a config error, not an uncaught exception', () => {
  // Nine levels of nine aliases each: 9^9 nodes if expanded.
  const lines = ['a: &a [x, x, x, x, x, x, x, x, x]'];
  const names = 'bcdefghi';
  for (let i = 0; i < names.length; i++) {
    const prev = i === 0 ? 'a' : names[i - 1];
    lines.push(`${names[i]}: &${names[i]} [${Array(9).fill(`*${prev}`).join(', ')}]`);
  }
  const errors = errorsOf(`${lines.join('\n')}\ncameras: [{ name: c, source: { type: demo } }]\n`);
  assert.equal(errors.length, 1);
  assert.match(errors[0]!.message, /aliases expand too far/);
});

test('broker URLs that mqtt.js connects with still pass', () => {
  for (const url of ['mqtt://127.0.0.1:1883', 'mqtts://broker.example:8883', 'ws://[::1]:9001/mqtt', 'wss://user@host', 'mqtt://localhost']) {
    const result = checkConfig({ text: `mqtt: { url: "${url}" }\n` }, {});
    assert.equal(result.ok, true, `${url}: ${JSON.stringify(result.ok ? [] : result.errors)}`);
  }
});

test('a trusted key is accepted as SPKI PEM, SPKI DER in base64 and raw base64, each the same key', async () => {
  const { createPublicKey } = await import('node:crypto');
  const { generateReleaseKeyPair, TrustedKeys } = await import('@kestrel/core');
  const pair = generateReleaseKeyPair();
  const der = createPublicKey(pair.publicKeyPem).export({ type: 'spki', format: 'der' });
  for (const form of [pair.publicKeyPem, der.toString('base64'), der.subarray(der.length - 32).toString('base64')]) {
    const result = checkConfig({ text: `update:\n  enabled: true\n  trustedKeys:\n    - publicKey: ${JSON.stringify(form)}\n` }, {});
    assert.equal(result.ok, true, JSON.stringify(result.ok ? [] : result.errors));
    assert.deepEqual(new TrustedKeys([{ publicKey: form }]).ids, [pair.keyId]);
  }
});

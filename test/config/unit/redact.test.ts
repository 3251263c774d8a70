import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkConfig, redactConfig, redactString, REDACTED } from '@kestrel/config';

test('redactConfig hides passwords and URL credentials and leaves everything else as it was', () => {
  const certs = mkdtempSync(join(tmpdir(), 'kestrel-redact-'));
  for (const name of ['ca.pem', 'c.pem', 'c.key']) writeFileSync(join(certs, name), 'pem');
  const result = checkConfig(
    {
      text: `
mqtt:
  url: "mqtts://svc:brokerpass@broker:8883"
  username: svc
  password: topsecret
  tls: { ca: ${certs}/ca.pem, cert: ${certs}/c.pem, key: ${certs}/c.key }
cameras:
  - name: a
    source: { type: rtsp, url: "rtsp://admin:campass@10.0.0.9:554/h264?channel=1&password=qpass" }
`,
    },
    {},
  );
  assert.ok(result.ok);
  const original = JSON.stringify(result.config);
  const safe = redactConfig(result.config);
  const text = JSON.stringify(safe);
  for (const secret of ['brokerpass', 'topsecret', 'campass', 'qpass']) assert.ok(!text.includes(secret), `${secret} leaked: ${text}`);
  assert.equal(safe.mqtt.password, REDACTED);
  assert.equal(safe.mqtt.url, `mqtts://${REDACTED}@broker:8883`);
  assert.equal(safe.cameras[0].source.type === 'rtsp' && safe.cameras[0].source.url, `rtsp://${REDACTED}@10.0.0.9:554/h264?channel=1&password=${REDACTED}`);
  assert.equal(safe.mqtt.username, 'svc', 'a user name is not a secret');
  assert.equal(safe.mqtt.tls?.key, join(certs, 'c.key'), 'tls.key is a file path, not a secret');
  assert.equal(safe.cameras[0].fps, 5);
  assert.equal(JSON.stringify(result.config), original, 'the config itself is not changed');
});

test('redactString leaves strings without credentials alone', () => {
  assert.equal(redactString('rtsp://10.0.0.9/stream'), 'rtsp://10.0.0.9/stream');
  assert.equal(redactString('just text with a @ sign'), 'just text with a @ sign');
  assert.equal(redactString('rtsp://u:p%40ss@h/s'), `rtsp://${REDACTED}@h/s`);
});

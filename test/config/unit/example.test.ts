import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { z } from 'zod';
import { configJsonSchema, loadConfig } from '@kestrel/config';
import { exampleOnItsDevice } from '../support/example.js';

const examplePath = exampleOnItsDevice();

test('the example config validates, with rtsp, v4l2 and file cameras, zones and TLS', () => {
  const config = loadConfig(examplePath, { DOCK_CAMERA_PASSWORD: 'dockpass' });
  assert.deepEqual(
    config.cameras.map((c) => [c.name, c.source.type, c.enabled]),
    [
      ['loading_dock', 'rtsp', true],
      ['office_webcam', 'v4l2', true],
      ['replay', 'file', false],
    ],
  );
  assert.deepEqual(config.cameras[0].filters.zones.map((z) => z.name), ['dock_door', 'driveway']);
  assert.deepEqual(config.cameras[0].privacy.masks.map((m) => m.name), ['street']);
  assert.equal(config.cameras[0].privacy.maskBeforeInference, true);
  assert.deepEqual(config.cameras[1].privacy, { masks: [], maskBeforeInference: true }, 'no masks unless configured');
  assert.equal(config.cameras[0].source.type === 'rtsp' && config.cameras[0].source.url, 'rtsp://viewer:dockpass@192.168.10.21:554/stream1');
  assert.equal(config.mqtt.password, 'change-me', 'the ${MQTT_PASSWORD:-change-me} fallback applies');
  assert.ok(config.mqtt.tls?.cert?.endsWith('/certs/warehouse-pi-1.crt'));
  assert.equal(config.outbox.maxBytes, 64 * 2 ** 20);
  assert.equal(config.origin.brokerExplicit, true);
  assert.deepEqual(config.homeassistant, { enabled: false, discoveryPrefix: 'homeassistant', labels: ['person', 'bicycle', 'car'] });
  assert.deepEqual(config.drift, { enabled: true, intervalS: 300, threshold: 0.25, minCount: 200, boostSampler: true, learnMinutes: 30 });
});

/** The emitted JSON Schema, turned back into a validator (no ajv here; zod reads JSON Schema too). */
function jsonSchemaValidator() {
  return z.fromJSONSchema(configJsonSchema() as Parameters<typeof z.fromJSONSchema>[0]);
}

test('the JSON Schema is draft 2020-12, strict about unknown keys, and shows defaults', () => {
  const schema = configJsonSchema() as {
    $schema: string;
    additionalProperties: boolean;
    properties: Record<string, { default?: unknown; properties?: Record<string, { default?: unknown }> }>;
  };
  assert.equal(schema.$schema, 'https://json-schema.org/draft/2020-12/schema');
  assert.equal(schema.additionalProperties, false);
  assert.deepEqual(Object.keys(schema.properties).sort(), ['cameras', 'device', 'drift', 'homeassistant', 'http', 'log', 'model', 'mqtt', 'outbox', 'sampling', 'stateDir', 'update']);
  assert.equal(schema.properties.mqtt.properties?.url.default, 'mqtt://127.0.0.1:1883');
  assert.equal(schema.properties.mqtt.properties?.prefix.default, 'kestrel');
  assert.ok(JSON.stringify(schema).includes('"const":"rtsp"'), 'the source union lists its types');
});

test('the JSON Schema accepts the example file and rejects what the loader rejects', () => {
  const validator = jsonSchemaValidator();
  const example = parse(readFileSync(examplePath, 'utf8'));
  const result = validator.safeParse(example);
  assert.ok(result.success, JSON.stringify(result.error?.issues));
  assert.equal(validator.safeParse({}).success, true, 'an empty config is valid');
  assert.equal(validator.safeParse({ cameraz: [] }).success, false, 'unknown keys');
  assert.equal(validator.safeParse({ cameras: [{ name: 'a', source: { type: 'rtsp', url: 'http://x' } }] }).success, false, 'rtsp url');
  assert.equal(validator.safeParse({ cameras: [{ name: 'a', source: { type: 'demo' }, fps: 0 }] }).success, false, 'fps 0');
  assert.equal(validator.safeParse({ outbox: { maxBytes: '2GiB' } }).success, true, 'sizes with units');
});

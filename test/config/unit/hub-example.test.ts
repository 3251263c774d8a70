// The hub example (config/examples/hub.example.yaml) is the hub config's documentation: it must
// load, show every default as it is, and name every key the schema has.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { parse } from 'yaml';
import { z } from 'zod';
import { hubConfigJsonSchema, loadHubConfig, parseHubConfig } from '@kestrel/config';
import { hubExampleOnItsHub } from '../support/example.js';

type SchemaNode = { properties?: Record<string, SchemaNode> };

/** `limits.maxBatch`, `mqtt.reconnect.minMs`, ...: every key, sections and the keys inside them. */
function keyPaths(node: SchemaNode | Record<string, unknown>, walkSchema: boolean, prefix = ''): string[] {
  const entries = walkSchema ? Object.entries((node as SchemaNode).properties ?? {}) : Object.entries(node);
  return entries.flatMap(([key, child]) => {
    const path = prefix ? `${prefix}.${key}` : key;
    const nested = walkSchema || (typeof child === 'object' && child !== null && !Array.isArray(child));
    return [path, ...(nested ? keyPaths(child as SchemaNode, walkSchema, path) : [])];
  });
}

test('the hub example loads, and every value it sets is the default (it loads as an empty file does)', () => {
  const path = hubExampleOnItsHub();
  const example = loadHubConfig(path, {});
  assert.deepEqual(example, parseHubConfig('', { name: 'empty', baseDir: dirname(path), env: {} }));
  assert.equal(example.records.path, join(dirname(path), 'hub-data', 'hub.sqlite'));
});

test('with its commented settings turned on, the hub example still loads and names every key of the schema', () => {
  const path = hubExampleOnItsHub({ uncommented: true });
  const config = loadHubConfig(path, { HUB_MQTT_PASSWORD: 's3cret' });
  assert.equal(config.tls?.cert, join(dirname(path), 'certs', 'hub.crt'));
  assert.equal(config.mqtt.password, 's3cret');

  const written = new Set(keyPaths(parse(readFileSync(path, 'utf8')) as Record<string, unknown>, false));
  const missing = keyPaths(hubConfigJsonSchema() as SchemaNode, true).filter((key) => !written.has(key));
  assert.deepEqual(missing, [], 'keys of the hub schema the example does not show');
});

test('the hub JSON Schema accepts the example and rejects unknown keys', () => {
  const validator = z.fromJSONSchema(hubConfigJsonSchema() as Parameters<typeof z.fromJSONSchema>[0]);
  for (const uncommented of [false, true]) {
    const example = parse(readFileSync(hubExampleOnItsHub({ uncommented }), 'utf8'));
    const result = validator.safeParse(example);
    assert.ok(result.success, JSON.stringify(result.error?.issues));
  }
  assert.equal(validator.safeParse({}).success, true, 'an empty config is valid');
  assert.equal(validator.safeParse({ limits: { maxBatchSize: 1 } }).success, false, 'unknown keys');
  assert.equal(validator.safeParse({ limits: { maxBodyBytes: '1GiB' } }).success, true, 'sizes with units');
});

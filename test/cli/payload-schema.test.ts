import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runKestrel } from '../support/cli.js';
import { TOPIC_KINDS } from '@kestrel/core';

test('kestrel config schema --payloads prints a JSON Schema for every MQTT topic kind', async () => {
  const r = await runKestrel(['config', 'schema', '--payloads']);
  assert.equal(r.code, 0, r.stderr);
  const schemas = JSON.parse(r.stdout) as Record<string, { properties?: Record<string, unknown> }>;
  assert.deepEqual(Object.keys(schemas).sort(), [...TOPIC_KINDS].sort(), 'one schema for every topic kind the contract table has');
  for (const kind of ['events', 'state', 'stats']) assert.ok(schemas[kind].properties?.schema, `${kind} carries a schema version`);
});

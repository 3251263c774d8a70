// A model without a drift baseline, on a real agent (demo camera, the bundled NanoDet, a real
// broker): the agent learns one per camera over drift.learnMinutes, keeps it in
// <stateDir>/drift/<model sha256>/<camera>.json and compares against it; an agent started again on
// that state folder takes it from there at once instead of learning anew.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { checkConfig } from '@kestrel/config';
import { BUNDLED_MODEL_PATH, createLogger, parseDriftBaseline, parsePayload, type DriftAlert } from '@kestrel/core';
import { Agent } from '@kestrel/agent';
import { startBroker, type BrokerHandle } from '../support/broker.js';
import { uniquePrefix } from '../support/ports.js';
import { waitFor } from './support/agent-process.js';

const dir = mkdtempSync(join(tmpdir(), 'kestrel-drift-learned-'));
let broker: BrokerHandle | undefined;
let agent: Agent | undefined;
let client: mqtt.MqttClient | undefined;
let retainedTopic: string | undefined;
after(async () => {
  await agent?.stop();
  if (retainedTopic) await client?.publishAsync(retainedTopic, '', { retain: true, qos: 1 });
  await client?.endAsync(true);
  await broker?.stop();
  rmSync(dir, { recursive: true, force: true });
});

test('a baseline learned on the device is kept in the state folder and used again after a restart', { timeout: 120_000 }, async () => {
  broker = await startBroker();
  const prefix = uniquePrefix('driftlearn');
  const deviceId = 'drift-learn';
  const stateDir = join(dir, 'state');
  const start = (learnMinutes: number) => {
    const r = checkConfig({
      text: [
        `device: { id: ${deviceId} }`,
        `mqtt: { url: "${broker!.url}", prefix: ${prefix} }`,
        `stateDir: "${stateDir}"`,
        'http: { enabled: false }',
        'model: { threads: 1 }',
        `drift: { intervalS: 10, minCount: 5, learnMinutes: ${learnMinutes} }`,
        'cameras:',
        '  - name: demo',
        '    source: { type: demo }',
        '    fps: 4',
        '    motion: { enabled: false }',
      ].join('\n'),
    });
    assert.ok(r.ok, JSON.stringify(r.errors));
    return new Agent(r.config, { logger: createLogger('drift-learned', { level: 'error' }), brokerConfigured: true, env: {} });
  };
  retainedTopic = `${prefix}/${deviceId}/demo/drift`;
  client = await mqtt.connectAsync(broker.url, { clientId: `drift-learn-${process.pid}`, reconnectPeriod: 0 });
  const alerts: DriftAlert[] = [];
  client.on('message', (_topic, payload) => {
    if (payload.length > 0) alerts.push(parsePayload('drift', payload));
  });
  await client.subscribeAsync(retainedTopic, { qos: 1 });

  // 6 s of learning, then a comparison each 10 s.
  agent = start(0.1);
  await agent.start();
  const sha = createHash('sha256').update(readFileSync(BUNDLED_MODEL_PATH)).digest('hex');
  const file = join(stateDir, 'drift', sha.slice(0, 16), 'demo.json');
  const first = await waitFor('a comparison against the learned baseline', 45_000, () => alerts[0]);
  assert.equal(first.baseline, 'learned');
  assert.ok(existsSync(file), `kept at ${file}`);
  const learned = parseDriftBaseline(readFileSync(file, 'utf8'), file);
  assert.equal(learned.source, 'learned');
  assert.equal(learned.minScore, 0.35, "the camera's filters.minScore");
  assert.ok(learned.frames >= 5);
  assert.ok(learned.classes.person, 'the demo person is in it');
  await agent.stop();

  // Again, with 30 minutes of learning configured: a comparison within seconds means it was read, not learned.
  const seen = alerts.length;
  const startedAt = Date.now();
  agent = start(30);
  await agent.start();
  const again = await waitFor('a comparison after the restart', 30_000, () => alerts[seen]);
  assert.equal(again.baseline, 'learned');
  assert.ok(Date.now() - startedAt < 30_000);
});

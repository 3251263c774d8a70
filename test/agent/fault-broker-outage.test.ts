// Fault: the MQTT broker dies (SIGKILL) while the camera keeps producing events, stays away for a
// stretch, and comes back. Real Mosquitto, a real agent process, the demo camera (a real ffmpeg
// source: a person crosses the room every 15 s, so tracks begin and end during the outage).
//
// How "every event produced arrived" is checked: the agent logs, at debug level, one line per
// event it accepted into its outbox ("event queued", with the event id): that is its own record
// of what it produced, in production order. After a clean stop (which also ends open tracks),
// (1) the outbox file is empty, so nothing is left undelivered; (2) de-duplicating what the
// subscriber received by id and keeping first arrivals gives exactly the produced sequence
// (none missing, none invented, in order; duplicates are allowed, at-least-once); (3) each
// track's life reads new, update..., end, so even an event the agent forgot to log would show.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { startBroker, type PrivateBroker } from '../support/broker.js';
import { freePort, uniquePrefix } from '../support/ports.js';
import { Recorder, demoAgentYaml, httpGet, cleanUp, metric, queuedEventIds, startAgentProcess, stopAgent, waitFor } from './support/agent-process.js';
import { checkDelivery } from './support/delivery.js';

const dir = mkdtempSync(join(tmpdir(), 'kestrel-fault-broker-'));
let broker: PrivateBroker | undefined;
after(async () => {
  await cleanUp();
  await broker?.stop();
  rmSync(dir, { recursive: true, force: true });
});

test('events produced while the broker is down arrive once it is back: none missing, in order, outbox empty after a clean stop', { timeout: 90_000 }, async () => {
  broker = await startBroker({ private: true });
  const prefix = uniquePrefix('outage');
  const deviceId = 'outage-1';
  const httpPort = await freePort();
  const stateDir = join(dir, 'state');
  const configPath = join(dir, 'agent.yaml');
  writeFileSync(
    configPath,
    demoAgentYaml({ deviceId, brokerUrl: broker.url, prefix, stateDir, httpPort, mqtt: 'statsIntervalSeconds: 5, reconnect: { minMs: 300, maxMs: 1000 }', eventUpdateIntervalSeconds: 1 }),
  );
  const rec = new Recorder(broker.url, prefix);
  await rec.connect();
  const agent = startAgentProcess(configPath, { logLevel: 'debug' });
  await waitFor('two events delivered live', 45_000, () => (rec.events(deviceId, 'demo').length >= 2 ? true : undefined));

  // The broker dies.
  const downAt = Date.now();
  await broker.kill();
  const queuedBefore = queuedEventIds(agent.log).length;
  await waitFor('events queued during the outage', 30_000, () => (queuedEventIds(agent.log).length - queuedBefore >= 6 && Date.now() - downAt >= 8000 ? true : undefined));
  const during = JSON.parse((await httpGet(httpPort, '/healthz')).body) as { mqtt: { connected: boolean }; outbox: { depth: number } };
  assert.equal(during.mqtt.connected, false, '/healthz shows the broker away');
  assert.ok(during.outbox.depth > 0, `/healthz shows events waiting in the outbox (${during.outbox.depth})`);
  const metricsDown = (await httpGet(httpPort, '/metrics')).body;
  assert.equal(metric(metricsDown, 'kestrel_mqtt_connected'), 0);
  assert.ok((metric(metricsDown, 'kestrel_outbox_depth') ?? 0) > 0);

  // The broker returns. The test's subscriber must be subscribed before the agent publishes
  // again: the broker keeps no sessions across its restart, so a message published before the
  // subscription existed would be lost to the test (not by the agent). Holding the agent
  // (SIGSTOP) for that moment takes the race out; its timers simply fire late.
  process.kill(agent.pid, 'SIGSTOP');
  await broker.start();
  await rec.connect();
  process.kill(agent.pid, 'SIGCONT');
  const upAt = Date.now();
  const outageIds = queuedEventIds(agent.log).slice(queuedBefore);
  const receivedIds = () => new Set(rec.events(deviceId, 'demo').map((e) => e.id));
  await waitFor('every event queued during the outage', 30_000, () => (outageIds.every((id) => receivedIds().has(id)) ? true : undefined), 50);
  const drainedAt = Date.now();
  const reconnect = agent.log.find((l) => l.msg === 'mqtt connected' && l.time >= upAt);
  const metricsUp = (await httpGet(httpPort, '/metrics')).body;
  assert.equal(metric(metricsUp, 'kestrel_mqtt_connected'), 1);
  assert.ok((metric(metricsUp, 'kestrel_mqtt_reconnects_total') ?? 0) >= 1, 'the reconnect is counted');

  // A few more live events, then a clean stop: open tracks end, the outbox drains, SQLite closes.
  const liveBefore = queuedEventIds(agent.log).length;
  await waitFor('live events after the outage', 20_000, () => (queuedEventIds(agent.log).length > liveBefore ? true : undefined));
  const stopped = await stopAgent(agent, 'SIGTERM');
  assert.equal(stopped.code, 0, `clean exit; log:\n${agent.stderr().slice(-2000)}`);
  assert.ok(stopped.ms < 15_000, `stopped in ${stopped.ms} ms`);
  await new Promise((r) => setTimeout(r, 300)); // the last PUBACKed messages reach the subscriber

  const db = new Database(join(stateDir, 'outbox.sqlite'), { readonly: true });
  const left = (db.prepare('SELECT count(*) AS n FROM outbox').get() as { n: number }).n;
  db.close();
  assert.equal(left, 0, 'nothing left in the outbox after a clean stop with the broker up');

  const produced = queuedEventIds(agent.log, 'demo');
  const report = checkDelivery(produced, rec.events(deviceId, 'demo'));
  console.log(
    `broker outage: down ${upAt - downAt} ms; ${outageIds.length} events queued meanwhile; agent reconnected ${reconnect ? reconnect.time - upAt : '?'} ms after the broker was back; ` +
      `all of them delivered ${drainedAt - upAt} ms after; produced ${produced.length} events in all (${report.tracks} tracks), received ${report.received} messages ` +
      `(${report.duplicates} duplicates); clean stop took ${stopped.ms} ms`,
  );
  assert.deepEqual(report.missing, [], 'no produced event is missing');
  assert.deepEqual(report.unexpected, [], 'nothing arrived that the agent did not produce');
  assert.ok(report.inOrder, 'first arrivals are in production order');
  assert.deepEqual(report.badLives, [], 'every track reads new, update..., end');
  assert.ok(outageIds.length >= 6);
});

// Fault: the agent is killed with SIGKILL while events wait in its outbox (the broker is down at
// the time, so nothing can drain), then started again on the same state directory once the
// broker is back. Real Mosquitto, real agent processes, the demo camera. The tracks open at the
// kill are ended by the second start (reason restart) from the state directory.
//
// What the first agent produced is known from two records of its own: its "event queued" log
// lines (debug level) and, since a log line still in a buffer dies with the process, the rows
// its outbox file holds after the kill. Every one of them must arrive after the restart, in
// production order, and the second agent's clean stop must leave the outbox empty.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import type { DetectionEvent } from '@kestrel/core';
import { startBroker, type PrivateBroker } from '../support/broker.js';
import { uniquePrefix } from '../support/ports.js';
import { Recorder, cleanUp, demoAgentYaml, queuedEventIds, startAgentProcess, stopAgent, waitFor } from './support/agent-process.js';
import { checkDelivery } from './support/delivery.js';

const dir = mkdtempSync(join(tmpdir(), 'kestrel-fault-kill9-'));
let broker: PrivateBroker | undefined;
after(async () => {
  await cleanUp();
  await broker?.stop();
  rmSync(dir, { recursive: true, force: true });
});

function outboxRows(path: string): { seq: number; id: string }[] {
  const db = new Database(path, { readonly: true, fileMustExist: true });
  try {
    const rows = db.prepare('SELECT seq, payload FROM outbox ORDER BY seq').all() as { seq: number; payload: Buffer }[];
    return rows.map((r) => ({ seq: r.seq, id: (JSON.parse(r.payload.toString()) as DetectionEvent).id }));
  } finally {
    db.close();
  }
}

test('events queued when the agent was killed -9 are delivered after it restarts: none missing', { timeout: 90_000 }, async () => {
  broker = await startBroker({ private: true });
  const prefix = uniquePrefix('kill9');
  const deviceId = 'kill9-1';
  const stateDir = join(dir, 'state');
  const outboxPath = join(stateDir, 'outbox.sqlite');
  const configPath = join(dir, 'agent.yaml');
  writeFileSync(
    configPath,
    demoAgentYaml({ deviceId, brokerUrl: broker.url, prefix, stateDir, mqtt: 'reconnect: { minMs: 300, maxMs: 1000 }', eventUpdateIntervalSeconds: 1 }),
  );
  const rec = new Recorder(broker.url, prefix);
  await rec.connect();
  const first = startAgentProcess(configPath, { logLevel: 'debug' });
  await waitFor('an event delivered live', 45_000, () => (rec.events(deviceId, 'demo').length >= 1 ? true : undefined));

  await broker.kill();
  const queuedBefore = queuedEventIds(first.log).length;
  // Killed while a track is open (a life with a `new` and no `end` yet), so the restart has one to
  // end: the demo scene has gaps between its objects, and a kill in a gap proves nothing.
  const openLives = (ids: readonly string[]): string[] => {
    const ended = new Set(ids.filter((id) => id.includes(':end:')).map((id) => id.split(':')[0]));
    return [...new Set(ids.map((id) => id.split(':')[0]))].filter((life) => !ended.has(life));
  };
  await waitFor('events queued with the broker down, a track open', 30_000, () => {
    const ids = queuedEventIds(first.log);
    return ids.length - queuedBefore >= 5 && openLives(ids).length >= 1 ? true : undefined;
  });
  const killed = await stopAgent(first, 'SIGKILL');
  assert.equal(killed.code, 'SIGKILL');

  const rows = outboxRows(outboxPath);
  const logged = queuedEventIds(first.log);
  const loggedSet = new Set(logged);
  // The outbox is the durable record: everything logged after the outage began is in it...
  for (const id of logged.slice(queuedBefore)) assert.ok(rows.some((r) => r.id === id), `event ${id} was accepted before the kill, so it is in the outbox file`);
  // ...and rows may hold an event whose log line died in the buffer with the process.
  const producedFirst = [...logged, ...rows.map((r) => r.id).filter((id) => !loggedSet.has(id))];
  // Lives with a `new` and no `end` from the first agent: what was open at the kill.
  const openAtKill = openLives(producedFirst);
  assert.ok(openAtKill.length >= 1, 'the demo scene had tracks open at the kill');
  const restartEnds = () => rec.events(deviceId, 'demo').filter((e) => e.type === 'end' && e.reason === 'restart');

  await broker.start();
  await rec.connect();
  const restartAt = Date.now();
  const second = startAgentProcess(configPath, { logLevel: 'debug' });
  const replay = await second.waitForLog((l) => l.msg === 'outbox has events from before the restart; they will be published', 45_000, 'the outbox replay');
  assert.equal(replay.depth, rows.length, 'the second agent found every row the first one left');
  const received = () => new Set(rec.events(deviceId, 'demo').map((e) => e.id));
  await waitFor('every queued event delivered', 45_000, () => (rows.every((r) => received().has(r.id)) ? true : undefined), 50);
  const deliveredAt = Date.now();
  // The camera starts once the model is loaded, after the outbox replay: then it ends the old tracks.
  await waitFor('the tracks open at the kill ended (reason restart)', 45_000, () => (restartEnds().length >= openAtKill.length ? true : undefined), 50);
  const connected = second.log.find((l) => l.msg === 'mqtt connected');

  const stopped = await stopAgent(second, 'SIGTERM');
  assert.equal(stopped.code, 0, `clean exit; log:\n${second.stderr().slice(-2000)}`);
  await new Promise((r) => setTimeout(r, 300));
  assert.equal(outboxRows(outboxPath).length, 0, 'the outbox is empty after the second agent stopped cleanly');

  const produced = [...producedFirst, ...queuedEventIds(second.log, 'demo')];
  // Tracks cut by the kill get their `end` from the next start (reason restart), read from the
  // state dir; the second agent's own tracks end when it stops. So every life is complete.
  const report = checkDelivery(produced, rec.events(deviceId, 'demo'));
  assert.deepEqual([...new Set(restartEnds().map((e) => e.trackId))].sort(), openAtKill.sort(), 'exactly the tracks open at the kill end with reason restart');
  console.log(
    `kill -9: ${rows.length} events in the outbox at the kill (${logged.length - queuedBefore} logged during the outage); ` +
      `restarted agent connected ${connected ? connected.time - restartAt : '?'} ms after its launch and delivered them all ${deliveredAt - restartAt} ms after launch; ` +
      `produced ${produced.length} events over both runs, received ${report.received} messages (${report.duplicates} duplicates); clean stop ${stopped.ms} ms`,
  );
  assert.deepEqual(report.missing, [], 'no produced event is missing');
  assert.deepEqual(report.unexpected, [], 'nothing arrived that the agents did not produce');
  assert.ok(report.inOrder, 'first arrivals are in production order');
  assert.deepEqual(report.badLives, [], 'every track starts with new and ends with end, nothing after it');
  assert.ok(rows.length >= 5);
});

test('SIGTERM with the broker down: exit 0 within the bound, every event (open tracks ended) kept on disk for the next start', { timeout: 90_000 }, async () => {
  broker ??= await startBroker({ private: true });
  await broker.kill(); // down from the start: the agent runs anyway and queues
  const stateDir = join(dir, 'state-term');
  const configPath = join(dir, 'term.yaml');
  writeFileSync(
    configPath,
    [`device: { id: term-1 }`, `mqtt: { url: "${broker.url}", prefix: ${uniquePrefix('term')} }`, `stateDir: "${stateDir}"`, 'http: { enabled: false }', 'model: { threads: 1 }', 'cameras:', '  - name: demo', '    source: { type: demo }', '    fps: 2', '    tracker: { minHits: 2 }'].join('\n'),
  );
  const agent = startAgentProcess(configPath, { logLevel: 'debug' });
  await waitFor('events queued', 60_000, () => (queuedEventIds(agent.log).length >= 2 ? true : undefined));
  const stopped = await stopAgent(agent, 'SIGTERM');
  const produced = queuedEventIds(agent.log);
  const rows = outboxRows(join(stateDir, 'outbox.sqlite'));
  console.log(`SIGTERM with the broker down: exit ${stopped.code} after ${stopped.ms} ms; ${rows.length} events kept in the outbox (${produced.filter((id) => id.includes(':end:')).length} "end" events among them)`);
  assert.equal(stopped.code, 0);
  assert.ok(stopped.ms < 15_000, `stopped in ${stopped.ms} ms`);
  assert.deepEqual(rows.map((r) => r.id), produced, 'the outbox holds exactly what the agent produced, in order');
  assert.ok(produced.some((id) => id.includes(':end:')), 'open tracks were ended at shutdown');
  assert.ok(agent.log.some((l) => l.msg === 'events left in the outbox for the next start'));
});

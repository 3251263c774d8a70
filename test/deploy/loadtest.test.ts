// `kestrel hub loadtest` as a user runs it: two real hub replicas (their own processes), a
// private Mosquitto, 50 simulated devices; a signed rollout to all of them, the replica holding
// its lease killed mid-way. Nothing confirmed to a device may be missing from the store, nothing
// stored twice, and the rollout completes — on SQLite and on PostgreSQL.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import pg from 'pg';
import { runKestrel } from '../support/cli.js';
import { TEST_PG_URL } from './support/postgres.js';

const DEVICES = 50;
const LEASE_SECONDS = 3;

async function loadtest(extra: string[]): Promise<any> {
  const res = await runKestrel(['hub', 'loadtest', '--devices', String(DEVICES), '--replicas', '2', '--seconds', '8', '--kill-replica', '--lease-seconds', String(LEASE_SECONDS), '--json', ...extra], { timeoutMs: 120_000 });
  let report: any;
  try {
    report = JSON.parse(res.stdout);
  } catch {
    assert.fail(`no JSON report (exit ${res.code}); stderr:\n${res.stderr.slice(-3000)}`);
  }
  assert.equal(res.code, 0, `the run failed its checks: ${JSON.stringify(report, null, 2)}`);
  return report;
}

function assertExactlyOnce(r: any): void {
  assert.equal(r.devices, DEVICES);
  assert.equal(r.replicas, 2);
  assert.equal(r.lost, 0, JSON.stringify(r.exactlyOnce));
  assert.equal(r.duplicated, 0, JSON.stringify(r.exactlyOnce));
  const s = r.exactlyOnce.samples;
  assert.ok(s.stored > 0 && s.stored === s.acked && s.pending === 0 && s.rejected === 0, JSON.stringify(s));
  assert.ok(r.ingest.http.count > 0 && r.ingest.mqtt.count > 0, 'samples came over both HTTP and MQTT');
  assert.equal(r.ingest.count, s.stored);
  assert.ok(r.ingest.p99Ms >= r.ingest.p50Ms && r.ingest.p50Ms > 0);
  assert.equal(r.exactlyOnce.devices.rows, DEVICES);
  assert.equal(r.exactlyOnce.devices.stale, 0);
  assert.equal(r.exactlyOnce.devices.staleBeforeRepublish, 0, 'no row showed an older state, even before the devices sent theirs again');
  assert.equal(r.rollout.finished, true);
  assert.equal(r.rollout.status, 'completed', r.rollout.reason);
  assert.equal(r.rollout.updated, DEVICES, 'every device applied the release');
  assert.ok(r.rollout.killed, 'a replica was killed');
  assert.ok(r.rollout.takeoverS > 0 && r.rollout.takeoverS <= LEASE_SECONDS + 10, `taken over after ${r.rollout.takeoverS} s`);
  assert.equal(r.cpu.length, 2);
  const killed = r.cpu.find((c: any) => c.replica === r.rollout.killed);
  assert.equal(killed.processes, 2, 'the killed replica came back as a new process');
  for (const c of r.cpu) assert.ok(c.cpuPercent > 0 && c.rssMb > 0, JSON.stringify(c));
  assert.ok(r.traffic.events.acked > 0 && r.traffic.stats > 0);
}

test('on SQLite: 50 devices, 2 replicas, the lease holder killed mid-rollout: nothing lost, nothing twice, the rollout completes', { timeout: 120_000 }, async () => {
  const r = await loadtest([]);
  assert.equal(r.records, 'sqlite');
  assertExactlyOnce(r);
});

test('on PostgreSQL (a schema of its own, dropped after): the same', { timeout: 120_000 }, async () => {
  const r = await loadtest(['--records', TEST_PG_URL]);
  const schema = /schema (kestrel_loadtest_[0-9a-f]+)/.exec(r.records)?.[1];
  assert.ok(schema, r.records);
  assertExactlyOnce(r);
  const admin = new pg.Client({ connectionString: TEST_PG_URL });
  await admin.connect();
  try {
    const { rows } = await admin.query('SELECT 1 FROM information_schema.schemata WHERE schema_name = $1', [schema]);
    assert.equal(rows.length, 0, `schema ${schema} was dropped`);
  } finally {
    await admin.end();
  }
});

test('bad flags are refused with the flag named, before anything starts', async () => {
  const records = await runKestrel(['hub', 'loadtest', '--records', 'mysql://db/x']);
  assert.equal(records.code, 2);
  assert.match(records.stderr, /--records must be a postgres:\/\/ URL/);
  const kill = await runKestrel(['hub', 'loadtest', '--replicas', '1', '--kill-replica']);
  assert.equal(kill.code, 2);
  assert.match(kill.stderr, /--kill-replica needs --replicas 2 or more/);
  const devices = await runKestrel(['hub', 'loadtest', '--devices', 'many']);
  assert.equal(devices.code, 2);
  assert.match(devices.stderr, /--devices must be a whole number from 1 to 100000, got "many"/);
});

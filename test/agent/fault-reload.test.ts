// The config changes under a running agent (an operator's edit, a provisioning tool's rewrite,
// `systemctl reload`): cameras are added, changed and removed live, only the changed camera
// restarts, changes that need a restart are reported in the retained state, and a broken edit
// leaves the agent running its previous config. A real agent process, real Mosquitto.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DeviceState } from '@kestrel/core';
import { startBroker, type BrokerHandle } from '../support/broker.js';
import { freePort, uniquePrefix } from '../support/ports.js';
import { Recorder, cleanUp, startAgentProcess, stopAgent, waitFor, type AgentProcess } from './support/agent-process.js';

const dir = mkdtempSync(join(tmpdir(), 'kestrel-fault-reload-'));
let broker: BrokerHandle | undefined;
after(async () => {
  await cleanUp();
  await broker?.stop();
  rmSync(dir, { recursive: true, force: true });
});

test('cameras reload live on a config edit or SIGHUP: only changed cameras restart, restart-only changes and broken edits are reported', { timeout: 90_000 }, async () => {
  broker = await startBroker();
  const prefix = uniquePrefix('reload');
  const deviceId = 'reload-1';
  const deadPort = await freePort();
  const configPath = join(dir, 'agent.yaml');
  const base = (threads: number) => [`device: { id: ${deviceId} }`, `mqtt: { url: "${broker!.url}", prefix: ${prefix} }`, `stateDir: "${join(dir, 'state')}"`, 'http: { enabled: false }', `model: { threads: ${threads} }`, 'cameras:'];
  const front = (fps: number) => ['  - name: front', '    source: { type: demo }', `    fps: ${fps}`];
  const yard = ['  - name: yard', `    source: { type: rtsp, url: "rtsp://127.0.0.1:${deadPort}/x" }`, '    fps: 1', '    watchdog: { backoff: { minMs: 500, maxMs: 1000 } }'];
  // As editors and provisioning tools do: write a new file, rename it over the old one.
  const save = (lines: string[]) => {
    writeFileSync(`${configPath}.tmp`, lines.join('\n'));
    renameSync(`${configPath}.tmp`, configPath);
    return Date.now();
  };
  save([...base(1), ...front(2)]);

  const rec = new Recorder(broker.url, prefix);
  await rec.connect();
  const agent: AgentProcess = startAgentProcess(configPath);
  const stateWhere = (what: string, ok: (s: DeviceState) => boolean, after = 0) =>
    waitFor(what, 20_000, () => {
      const m = [...rec.messages].reverse().find((x) => x.topic === `${prefix}/${deviceId}/state` && x.at >= after);
      const s = m && (JSON.parse(m.payload) as DeviceState);
      return s && ok(s) ? { state: s, at: m!.at } : undefined;
    });
  const first = await stateWhere('front streaming', (s) => s.cameras.front?.state === 'streaming');
  const frontSince = first.state.cameras.front.since;

  // 1. A camera is added by editing the file: it starts; the running camera is not touched.
  let savedAt = save([...base(1), ...front(2), ...yard]);
  const added = await stateWhere('yard added', (s) => s.cameras.yard !== undefined, savedAt);
  console.log(`reload: the added camera is in the state ${added.at - savedAt} ms after the file was saved`);
  assert.equal(added.state.cameras.front.since, frontSince, 'front kept running through the reload');
  const yardFailed = await stateWhere('yard failed', (s) => s.cameras.yard?.state === 'failed', savedAt);
  assert.match(yardFailed.state.cameras.yard.lastError ?? '', /Connection refused/);

  // 2. SIGHUP with nothing changed reloads and restarts nothing.
  agent.child.kill('SIGHUP');
  const hup = await agent.waitForLog((l) => l.msg === 'config reloaded' && (l.time as number) > yardFailed.at && (l.unchanged as string[]).length === 2, 20_000, 'the SIGHUP reload');
  assert.deepEqual([hup.added, hup.removed, hup.restarted], [[], [], []]);
  assert.ok(agent.log.some((l) => l.msg === 'reloading the configuration' && l.why === 'SIGHUP'));

  // 3. One camera changes (fps) and so does the model section: the camera restarts, the other does
  //    not, and the model change waits for a restart, saying so in the state.
  const yardRestartsBefore = rec.lastState(deviceId)!.cameras.yard.restarts ?? 0;
  savedAt = save([...base(2), ...front(1), ...yard]);
  const changed = await stateWhere('front restarted and the model change reported', (s) => s.cameras.front?.since !== frontSince && s.degraded.some((d) => d.startsWith('needs restart')), savedAt);
  assert.match(changed.state.degraded.find((d) => d.startsWith('needs restart'))!, /model/);
  assert.ok((changed.state.cameras.yard.restarts ?? 0) >= yardRestartsBefore, 'yard kept its runtime (its restart count did not start over)');
  const reloadLine = agent.log.filter((l) => l.msg === 'config reloaded').at(-1)!;
  assert.deepEqual(reloadLine.restarted, ['front']);
  assert.deepEqual(reloadLine.unchanged, ['yard']);
  await stateWhere('front streaming again', (s) => s.cameras.front?.state === 'streaming', savedAt);

  // 4. A broken edit: reported, and the agent goes on with what it had.
  savedAt = save([...base(2), ...front(1), '  - name: yard', '    source: { type: rtsp }']);
  const broken = await stateWhere('the failed reload reported', (s) => s.degraded.some((d) => d.startsWith('config reload failed')), savedAt);
  assert.match(broken.state.degraded.find((d) => d.startsWith('config reload failed'))!, /cameras\[1\]\.source\.url/);
  assert.deepEqual(Object.keys(broken.state.cameras).sort(), ['front', 'yard']);
  assert.equal(agent.child.exitCode, null);

  // 5. Fixed by removing the camera: it stops and leaves the state; the failure note goes away.
  savedAt = save([...base(2), ...front(1)]);
  const removed = await stateWhere('yard removed', (s) => s.cameras.yard === undefined && !s.degraded.some((d) => d.startsWith('config reload failed')), savedAt);
  assert.deepEqual(Object.keys(removed.state.cameras), ['front']);
  assert.ok(removed.state.degraded.some((d) => d.startsWith('needs restart')), 'the model change still waits for a restart');

  const stopped = await stopAgent(agent);
  assert.equal(stopped.code, 0);
});

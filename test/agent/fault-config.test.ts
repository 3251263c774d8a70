// Faults an installer or the field brings: a malformed config, a model that is not there, a
// camera nobody can reach, a state folder the agent cannot write. Each ends in a clear message
// and exit status 2 (what systemd's RestartPreventExitStatus=2 stops restarting), or in a
// running agent whose retained state and /healthz say what is wrong: never a crash loop.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runKestrel } from '../support/cli.js';
import { startBroker, type BrokerHandle } from '../support/broker.js';
import { freePort, uniquePrefix } from '../support/ports.js';
import { Recorder, demoAgentYaml, httpGet, cleanUp, startAgentProcess, stopAgent, waitFor } from './support/agent-process.js';

const dir = mkdtempSync(join(tmpdir(), 'kestrel-fault-config-'));
let broker: BrokerHandle | undefined;
after(async () => {
  await cleanUp();
  await broker?.stop();
  chmodSync(join(dir), 0o755);
  rmSync(dir, { recursive: true, force: true });
});

test('a malformed config: exit status 2 at once, with the file, line and problem named', async () => {
  const path = join(dir, 'broken.yaml');
  writeFileSync(path, ['mqtt:', '  url: "mqtt://127.0.0.1:1883"', 'cameras:', '  - name: door', '    source: { type: rtsp, url: "http://not-rtsp" }', '    fps: -3', ''].join('\n'));
  const t0 = Date.now();
  const r = await runKestrel(['agent', '--config', path], { timeoutMs: 60_000 });
  const ms = Date.now() - t0;
  console.log(`malformed config: exit ${r.code} after ${ms} ms: ${r.stderr.trim().split('\n').join(' | ')}`);
  assert.equal(r.code, 2);
  assert.match(r.stderr, new RegExp(path.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')));
  assert.match(r.stderr, /cameras\[0\]\.source\.url.*line 5/);
  assert.match(r.stderr, /cameras\[0\]\.fps.*line 6/);
  assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');

  const yaml = join(dir, 'syntax.yaml');
  writeFileSync(yaml, 'cameras:\n  - name: door\n   source: [\n');
  const s = await runKestrel(['agent', '--config', yaml], { timeoutMs: 60_000 });
  assert.equal(s.code, 2);
  assert.match(s.stderr, /syntax\.yaml/);
});

test('a missing model: exit status 2, naming the path', async () => {
  const path = join(dir, 'no-model.yaml');
  const missing = join(dir, 'models', 'detector-v7.onnx');
  writeFileSync(path, [`model: { path: "${missing}" }`, `stateDir: "${join(dir, 'state-nomodel')}"`, 'http: { enabled: false }', 'cameras:', '  - name: demo', '    source: { type: demo }'].join('\n'));
  const t0 = Date.now();
  const r = await runKestrel(['agent', '--config', path], { env: { KESTREL_LOG_FORMAT: 'json' }, timeoutMs: 60_000 });
  console.log(`missing model: exit ${r.code} after ${Date.now() - t0} ms`);
  assert.equal(r.code, 2);
  assert.ok(r.stderr.includes(`model.path: ${missing} does not exist on this machine`), r.stderr);
  assert.doesNotMatch(r.stderr, /camera starting/, 'nothing started');
});

test('an unreachable camera: the agent runs, the camera is failed with its reason in the retained state and /healthz', { timeout: 90_000 }, async () => {
  broker ??= await startBroker();
  const prefix = uniquePrefix('unreach');
  const deviceId = 'unreach-1';
  const deadPort = await freePort(); // nothing listens there
  const httpPort = await freePort();
  const path = join(dir, 'unreachable.yaml');
  writeFileSync(
    path,
    [
      `device: { id: ${deviceId} }`,
      `mqtt: { url: "${broker.url}", prefix: ${prefix} }`,
      `stateDir: "${join(dir, 'state-unreach')}"`,
      `http: { enabled: true, bind: "127.0.0.1:${httpPort}" }`,
      'model: { threads: 1 }',
      'cameras:',
      '  - name: yard',
      `    source: { type: rtsp, url: "rtsp://viewer:secret@127.0.0.1:${deadPort}/stream" }`,
      '    fps: 1',
    ].join('\n'),
  );
  const rec = new Recorder(broker.url, prefix);
  await rec.connect();
  const agent = startAgentProcess(path);
  const state = await waitFor('state with the camera failed', 60_000, () => {
    const s = rec.lastState(deviceId);
    return s?.cameras.yard?.state === 'failed' && s.model ? s : undefined;
  });
  assert.match(state.cameras.yard.lastError ?? '', /Connection refused/);
  assert.doesNotMatch(JSON.stringify(state), /secret/, 'credentials never reach the state');
  assert.ok(state.degraded.some((d) => d.startsWith('camera yard failed')), state.degraded.join('; '));
  const h = await httpGet(httpPort, '/healthz');
  assert.equal(h.status, 503);
  assert.match(h.body, /camera yard is (failed|connecting)/);
  // Still running a while later, retrying, not exiting.
  await new Promise((r) => setTimeout(r, 3000));
  assert.equal(agent.child.exitCode, null, 'the agent keeps running');
  const stopped = await stopAgent(agent);
  assert.equal(stopped.code, 0);
  await rec.close();
});

test('an unwritable state dir: the agent runs with an in-memory outbox and says so, naming the folder', { timeout: 90_000 }, async () => {
  broker ??= await startBroker();
  const prefix = uniquePrefix('rostate');
  const deviceId = 'rostate-1';
  const httpPort = await freePort();
  const stateDir = join(dir, 'readonly-state');
  mkdirSync(stateDir);
  chmodSync(stateDir, 0o555);
  const path = join(dir, 'rostate.yaml');
  writeFileSync(path, demoAgentYaml({ deviceId, brokerUrl: broker.url, prefix, stateDir, httpPort }));
  const rec = new Recorder(broker.url, prefix);
  await rec.connect();
  // root writes through any mode bits; without CAP_DAC_OVERRIDE it meets them like any user.
  const wrapper = process.getuid?.() === 0 ? ['setpriv', '--bounding-set', '-dac_override,-dac_read_search,-fowner', '--'] : undefined;
  const agent = startAgentProcess(path, { wrapper });
  const state = await waitFor('state saying the outbox is in memory', 60_000, () => {
    const s = rec.lastState(deviceId);
    return s?.model && s.degraded.some((d) => d.includes('in memory')) ? s : undefined;
  });
  const reason = state.degraded.find((d) => d.includes('in memory'))!;
  console.log(`unwritable state dir: degraded: ${reason}`);
  assert.ok(reason.includes(`state dir ${stateDir} is not writable`), reason);
  const health = JSON.parse((await httpGet(httpPort, '/healthz')).body) as { outbox: { durable: boolean }; degraded: string[] };
  assert.equal(health.outbox.durable, false);
  // Detection goes on, and events still reach the broker through the in-memory outbox.
  await waitFor('an event delivered', 45_000, () => (rec.events(deviceId, 'demo').length > 0 ? true : undefined));
  const stopped = await stopAgent(agent);
  assert.equal(stopped.code, 0);
  await rec.close();
});

// Fleet deployment end to end with real parts: a hub process, a real Mosquitto, three real agent
// processes (demo cameras, tiny YOLO-shaped detectors so three fit on a small machine), and the
// `kestrel deploy` CLI. A signed release reaches every device in waves; a release that stops
// detecting is rolled back by the canary itself and the rollout stops there.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { parsePayload, type ModelState } from '@kestrel/core';
import { startBroker, type BrokerHandle } from '../support/broker.js';
import { uniquePrefix } from '../support/ports.js';
import { REPO_ROOT } from '../support/images.js';
import { runKestrel } from '../support/cli.js';
import { startHub, type HubProcess } from '../deploy/support/hub-process.js';
import { fixedDetector } from './support/update-kit.js';
import { waitFor } from './support/agent-process.js';

const dir = mkdtempSync(join(tmpdir(), 'kestrel-fleet-'));
const agents: ChildProcess[] = [];
let broker: BrokerHandle | undefined;
let hub: HubProcess | undefined;
let watcher: mqtt.MqttClient | undefined;
after(async () => {
  // Everything this file started, even when the test failed half-way: a client left connected
  // would keep the file's process (and the suite) running.
  await watcher?.endAsync(true);
  for (const a of agents) a.kill('SIGKILL');
  await hub?.stop();
  await broker?.stop();
  rmSync(dir, { recursive: true, force: true });
});

const SIZE = 64;


test('a signed release reaches three agent processes in waves; a release that stops detecting is rolled back at the canary', { timeout: 240_000 }, async () => {
  broker = await startBroker();
  const prefix = uniquePrefix('fleet');
  hub = await startHub({ mqtt: { url: broker.url, prefix } });
  const deploy = (args: string[]) => runKestrel(['deploy', ...args, '--hub-config', hub!.configPath], { timeoutMs: 200_000 });
  // push asks the hub (its operator API) to run the rollout; --wait follows it to the end.
  const tokenFile = join(dir, 'operator.token');
  writeFileSync(tokenFile, await hub.token('ops', 'operator'));

  const keygen = await deploy(['keygen', '--json']);
  assert.equal(keygen.code, 0, keygen.stderr);
  const { publicKeyPem, keyId } = JSON.parse(keygen.stdout) as { publicKeyPem: string; keyId: string };

  const models = { v1: join(dir, 'v1.onnx'), v2: join(dir, 'v2.onnx'), v3: join(dir, 'v3.onnx') };
  writeFileSync(models.v1, fixedDetector(SIZE, 0.9, '1'));
  writeFileSync(models.v2, fixedDetector(SIZE, 0.8, '2'));
  writeFileSync(models.v3, fixedDetector(SIZE, 0, '3')); // loads and runs, but finds nothing

  const states = new Map<string, ModelState>();
  const history = new Map<string, ModelState[]>();
  watcher = await mqtt.connectAsync(broker.url, { clientId: `${prefix}-watch` });
  watcher.on('message', (topic, payload) => {
    if (payload.length === 0) return;
    const device = topic.split('/')[1];
    const state = parsePayload('modelState', payload);
    states.set(device, state);
    history.set(device, [...(history.get(device) ?? []), state]);
  });
  await watcher.subscribeAsync(`${prefix}/+/model/state`, { qos: 1 });

  const devices = ['edge-a', 'edge-b', 'edge-c'];
  for (const id of devices) {
    const token = await hub.token(id);
    const config = join(dir, `${id}.yaml`);
    writeFileSync(
      config,
      [
        `device: { id: ${id} }`,
        `mqtt: { url: "${broker.url}", prefix: ${prefix} }`,
        `stateDir: "${join(dir, id)}"`,
        'http: { enabled: false }',
        `model: { path: "${models.v1}", threads: 1 }`,
        'cameras:',
        '  - name: demo',
        '    source: { type: demo }',
        '    fps: 4',
        'update:',
        '  enabled: true',
        `  hubToken: "${token}"`,
        `  trustedKeys: [{ publicKey: ${JSON.stringify(publicKeyPem)}, keyId: "${keyId}" }]`,
        '  watch: { watchMs: 4000, minFrames: 4, minDetectionRatio: 0.5, minBaselineDetections: 4 }',
      ].join('\n'),
    );
    const child = spawn(process.execPath, ['--conditions=kestrel-source', '--import', 'tsx', join(REPO_ROOT, 'cli/src/entry.ts'), 'agent', '--config', config], {
      cwd: REPO_ROOT,
      stdio: ['ignore', 'ignore', 'inherit'],
      env: { ...process.env, KESTREL_LOG_LEVEL: 'warn' },
    });
    agents.push(child);
  }
  await waitFor('every agent reporting its model', 90_000, () => (devices.every((d) => states.get(d)?.current?.version === '1') ? true : undefined));

  for (const v of ['v2', 'v3'] as const) {
    const r = await deploy(['release', models[v], '--name', 'fixed', '--version', v.slice(1), '--json']);
    assert.equal(r.code, 0, r.stderr);
  }

  // A good release: canary first, then the rest; every device ends on version 2.
  const push = await deploy(['push', 'fixed@2', '--to', devices.join(','), '--canary', '1', '--wave-size', '2', '--wave-timeout', '90', '--wait', '--token-file', tokenFile, '--json']);
  assert.equal(push.code, 0, `${push.stdout}\n${push.stderr}`);
  const rollout = JSON.parse(push.stdout) as { status: string; waves: { devices: string[] }[] };
  assert.equal(rollout.status, 'completed');
  assert.equal(rollout.waves.length, 2);
  assert.equal(rollout.waves[0].devices.length, 1, 'one canary');
  await waitFor('every device on version 2', 30_000, () => (devices.every((d) => states.get(d)?.current?.version === '2') ? true : undefined));

  // A release that finds nothing: the canary swaps, sees detections collapse, rolls back by
  // itself, and the rollout stops before the other devices are touched.
  const bad = await deploy(['push', 'fixed@3', '--to', devices.join(','), '--canary', '1', '--wave-timeout', '90', '--wait', '--token-file', tokenFile, '--json']);
  assert.notEqual(bad.code, 0);
  const badRollout = JSON.parse(bad.stdout) as { status: string; waves: { devices: string[] }[] };
  assert.notEqual(badRollout.status, 'completed');
  const canary = badRollout.waves[0].devices[0];
  // Any of its states, not only the last: a state published after it (a reconnect) must not hide it.
  const seen = (): string => JSON.stringify(history.get(canary)?.map((x) => [x.status, x.sequence, x.current?.version]));
  const canaryState = await waitFor('the canary rolled back to version 2', 30_000, () => history.get(canary)?.find((x) => x.status === 'rollback' && x.current?.version === '2')).catch((err: Error) => {
    throw new Error(`${err.message}; the canary said ${seen()}`);
  });
  assert.match(canaryState.reason ?? '', /detect/i);
  assert.equal(canaryState.reasonCode, 'quality');
  assert.equal(states.get(canary)?.current?.version, '2', `the canary stays on version 2: ${seen()}`);
  for (const d of devices.filter((x) => x !== canary)) assert.equal(states.get(d)?.current?.version, '2', `${d} was not touched`);
});

// What the agent writes, read as a log reader and as a person at a terminal read it. Off a
// terminal (systemd, a pipe) every line on stderr is one JSON object with no key twice and stdout
// stays empty; a normal stop warns of nothing and publishes the retained state once. On a
// terminal (a real pty, from util-linux's `script`) every log line is one line and the banner
// says how to watch the agent. The agent runs with no ffmpeg on the PATH, as after a bare
// `npm ci`: it says it uses the bundled one. /metrics counts events by camera, label and type.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startBroker, type BrokerHandle } from '../support/broker.js';
import { REPO_ROOT } from '../support/images.js';
import { duplicateKeys } from '../support/json-keys.js';
import { freePort, uniquePrefix } from '../support/ports.js';
import { Recorder, cleanUp, demoAgentYaml, httpGet, metric, startAgentProcess, stopAgent, waitFor } from './support/agent-process.js';

const dir = mkdtempSync(join(tmpdir(), 'kestrel-logs-'));
let broker: BrokerHandle | undefined;
after(async () => {
  await cleanUp();
  await broker?.stop();
  rmSync(dir, { recursive: true, force: true });
});

test('duplicateKeys reads the raw text: nested objects keep their own keys', () => {
  assert.deepEqual(duplicateKeys('{"camera":"demo","camera":"demo"}'), ['camera']);
  assert.deepEqual(duplicateKeys('{"a":{"x":1,"y":"{\\"x\\":2}"},"b":{"x":1},"c":[{"x":1},{"x":2}]}'), []);
  assert.deepEqual(duplicateKeys('{"a":{"x":1,"x":2}}'), ['a.x']);
});

test('off a terminal: only JSON lines, no key twice, no warning on a normal stop, the state once on stop, events counted by label', { timeout: 120_000 }, async () => {
  broker ??= await startBroker();
  const prefix = uniquePrefix('logs');
  const deviceId = 'logs-1';
  const httpPort = await freePort();
  const path = join(dir, 'agent.yaml');
  writeFileSync(path, demoAgentYaml({ deviceId, brokerUrl: broker.url, prefix, stateDir: join(dir, 'state'), httpPort, eventUpdateIntervalSeconds: 1 }));
  const rec = new Recorder(broker.url, prefix);
  await rec.connect();
  // stderr is a pipe and KESTREL_LOG_FORMAT is unset: the agent decides on JSON by itself.
  const agent = startAgentProcess(path, { logFormat: 'auto', logLevel: 'debug', env: { PATH: '/nonexistent' } });

  const ffmpeg = await agent.waitForLog((l) => l.msg === 'ffmpeg', 60_000, 'the ffmpeg line');
  assert.equal(ffmpeg.from, 'bundled', 'no ffmpeg on the PATH: the bundled one');
  assert.match(String(ffmpeg.path), /@ffmpeg-installer/);
  assert.match(String(ffmpeg.version), /^ffmpeg version /);
  await agent.waitForLog((l) => l.msg === 'camera streaming', 30_000, 'the camera streaming');
  const events = await waitFor('an event and an update', 60_000, () => {
    const e = rec.events(deviceId, 'demo');
    return e.some((x) => x.type === 'new') && e.some((x) => x.type === 'update') ? e : undefined;
  });

  // kestrel_events_total{camera, label, type}: at least what the broker has seen, per label and type.
  const text = (await httpGet(httpPort, '/metrics')).body;
  const seen = new Map<string, number>();
  for (const e of events) seen.set(`${e.label}|${e.type}`, (seen.get(`${e.label}|${e.type}`) ?? 0) + 1);
  for (const [key, n] of seen) {
    const [label, type] = key.split('|') as [string, string];
    const counted = metric(text, 'kestrel_events_total', { camera: 'demo', label, type });
    assert.ok(counted !== undefined && counted >= n, `kestrel_events_total{camera="demo",label="${label}",type="${type}"} is ${counted}, the broker saw ${n}`);
  }
  assert.match(text, /^# HELP kestrel_events_total .*object class/m);

  const statesBefore = rec.states(deviceId).length;
  const { code } = await stopAgent(agent);
  assert.equal(code, 0);
  const stopStates = await waitFor('the state published on stop', 10_000, () => {
    const after = rec.states(deviceId).slice(statesBefore);
    return after.length > 0 && rec.messages.some((m) => m.topic === `${prefix}/${deviceId}/status` && m.payload === 'offline') ? after : undefined;
  });
  // A little more time for a second one, should it come.
  await new Promise((r) => setTimeout(r, 500));
  assert.equal(rec.states(deviceId).length - statesBefore, 1, `one state on stop, got ${rec.states(deviceId).length - statesBefore}`);
  assert.equal(stopStates[0]!.cameras.demo?.state, 'stopped', 'the last state says the camera stopped');

  assert.equal(agent.stdout(), '', 'nothing on stdout');
  const lines = agent.rawLines.filter((l) => l !== '');
  assert.ok(lines.length > 10, `the agent logged (${lines.length} lines)`);
  for (const line of lines) {
    let parsed: unknown;
    assert.doesNotThrow(() => (parsed = JSON.parse(line)), `not JSON: ${line}`);
    assert.equal(typeof parsed, 'object');
    assert.deepEqual(duplicateKeys(line), [], `a key twice in: ${line}`);
  }
  assert.ok(agent.log.some((l) => l.msg === 'event queued' && l.camera === 'demo'), 'camera-bound debug lines are there (and were checked)');
  assert.ok(agent.log.some((l) => l.msg === 'camera state' && l.camera === 'demo'));
  const warnings = agent.log.filter((l) => l.level >= 40);
  assert.deepEqual(warnings.map((l) => l.msg), [], 'a normal run and stop warns of nothing');
  assert.ok(agent.log.some((l) => l.msg === 'mqtt closed'), 'the closed connection is logged at debug');
});

/** The agent under a pseudo-terminal; Ctrl-C typed into it once `until` is seen in its output. */
function agentOnTerminal(configPath: string, until: RegExp, timeoutMs: number): Promise<{ code: number | null; screen: string }> {
  const cmd = [process.execPath, '--conditions=kestrel-source', '--import', 'tsx', join(REPO_ROOT, 'cli/src/entry.ts'), 'agent', '--config', configPath].map((a) => `'${a}'`).join(' ');
  const env = { ...process.env, KESTREL_LOG_LEVEL: 'info' };
  delete env.KESTREL_LOG_FORMAT;
  // -q: no "Script started" lines; -f: flush as it goes; -e: its exit status is the agent's.
  const child = spawn('script', ['-qfec', `exec ${cmd}`, '/dev/null'], { cwd: REPO_ROOT, env, stdio: ['pipe', 'pipe', 'pipe'] });
  let screen = '';
  let sent = false;
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`timed out; the terminal showed:\n${screen}`));
    }, timeoutMs);
    child.stdout.on('data', (d: Buffer) => {
      screen += d.toString();
      if (!sent && until.test(screen)) {
        sent = true;
        // Ctrl-C as a person types it: the terminal sends SIGINT to the agent.
        setTimeout(() => child.stdin.write('\x03'), 500);
      }
    });
    child.on('error', reject);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, screen });
    });
  });
}

test('on a terminal: the banner, and every log line a single line', { timeout: 120_000 }, async () => {
  broker ??= await startBroker();
  const prefix = uniquePrefix('logs-tty');
  const httpPort = await freePort();
  const path = join(dir, 'tty.yaml');
  writeFileSync(path, demoAgentYaml({ deviceId: 'logs-tty', brokerUrl: broker.url, prefix, stateDir: join(dir, 'state-tty'), httpPort }));
  const { code, screen } = await agentOnTerminal(path, /camera streaming/, 90_000);
  assert.equal(code, 0, screen);
  // eslint-disable-next-line no-control-regex
  // Colours off; the terminal's own echo of the typed Ctrl-C (`^C`) off the line it lands on.
  const plain = screen.replace(/\x1b\[[0-9;?]*[A-Za-z]/g, '').replace(/\r/g, '').replace(/\^C/g, '');
  assert.match(plain, /Kestrel agent "logs-tty" is running \(model nanodet-416 on cpu/);
  assert.match(plain, new RegExp(`mosquitto_sub -h 127\\.0\\.0\\.1 -p \\d+ -t '${prefix}/logs-tty/#' -v`));
  assert.match(plain, new RegExp(`Health and metrics: http://127\\.0\\.0\\.1:${httpPort}/healthz and /metrics`));
  // The demo camera makes snapshots: their JPEG topics are left out of the suggested command, and their route is named.
  assert.match(plain, new RegExp(`-v -T '${prefix}/logs-tty/\\+/\\+/snapshot'`));
  assert.match(plain, new RegExp(`Snapshots: http://127\\.0\\.0\\.1:${httpPort}/api/cameras/[^/]+/snapshot/<label or event id>\\.jpg`));
  const bannerLines = new Set(['Watch its messages:', 'Stop it with Ctrl-C.']);
  const logLines = plain.split('\n').filter((l) => l.trim() !== '' && !bannerLines.has(l.trim()) && !/^Kestrel agent |^\s+mosquitto_sub |^Health and metrics: |^Snapshots: /.test(l));
  assert.ok(logLines.length > 5, plain);
  for (const line of logLines) {
    // [HH:MM:SS.mmm] LEVEL (name): message {fields}: one line each, no JSON, no continuation lines.
    assert.match(line, /^\[\d\d:\d\d:\d\d\.\d{3}\] (TRACE|DEBUG|INFO|WARN|ERROR|FATAL) \(kestrel-agent\): /, `not a single-line log entry: ${JSON.stringify(line)}`);
  }
  assert.ok(logLines.some((l) => / INFO \(kestrel-agent\): camera streaming /.test(l)));
  assert.ok(logLines.some((l) => /: agent stopped/.test(l)), 'the stop is logged');
});

// Helpers for fault tests: the agent as its own process (exactly as a user or systemd runs it),
// its JSON log parsed line by line, a recorder of everything it publishes, /healthz and /metrics.
import { spawn, type ChildProcess } from 'node:child_process';
import { request } from 'node:http';
import { join } from 'node:path';
import mqtt, { type MqttClient } from 'mqtt';
import { parsePayload, type DetectionEvent, type DeviceState } from '@kestrel/core';
import { REPO_ROOT } from '../../support/images.js';

export interface LogLine {
  level: number;
  time: number;
  msg: string;
  [key: string]: unknown;
}

export interface AgentProcess {
  child: ChildProcess;
  pid: number;
  /** Every JSON log line so far, in order. */
  log: LogLine[];
  /** Every complete stderr line so far, as written (JSON or not). */
  rawLines: string[];
  /** The raw stderr tail, for failure messages. */
  stderr(): string;
  /** Everything written to stdout. */
  stdout(): string;
  /** Resolves with the exit code (or the signal name) once the process has exited. */
  exited: Promise<number | string>;
  /** Resolves with the first log line (already seen or coming) that satisfies `ok`. */
  waitForLog(ok: (line: LogLine) => boolean, timeoutMs: number, what: string): Promise<LogLine>;
}

const running = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

const recorders = new Set<Recorder>();

/** For `after`: kills every agent process the test started and disconnects every recorder (an open MQTT connection would keep the test process alive). */
export async function cleanUp(): Promise<void> {
  for (const child of running) child.kill('SIGKILL');
  await Promise.all([...recorders].map((r) => r.close()));
}

export interface StartAgentOptions {
  /** Set in the agent's environment; a key set to undefined is removed from it. */
  env?: NodeJS.ProcessEnv;
  /** 'auto': KESTREL_LOG_FORMAT is not set, so the agent picks JSON itself (stderr is a pipe). Default 'json'. */
  logFormat?: 'json' | 'auto';
  logLevel?: 'info' | 'debug';
  /** More arguments for `kestrel agent` (after `--config <file>`), e.g. ['--source', 'clip.mp4']. */
  args?: string[];
  /** Run through another program first, e.g. ['setpriv', '--bounding-set', '-dac_override', '--']. */
  wrapper?: string[];
}

export function startAgentProcess(configPath: string, options: StartAgentOptions = {}): AgentProcess {
  const args = ['--conditions=kestrel-source', '--import', 'tsx', join(REPO_ROOT, 'cli/src/entry.ts'), 'agent', '--config', configPath, ...(options.args ?? [])];
  const [command, ...commandArgs] = options.wrapper ? [...options.wrapper, process.execPath, ...args] : [process.execPath, ...args];
  const child = spawn(command!, commandArgs, {
    cwd: REPO_ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, KESTREL_LOG_LEVEL: options.logLevel ?? 'info', KESTREL_LOG_FORMAT: options.logFormat === 'auto' ? undefined : 'json', ...options.env },
  });
  running.add(child);
  const log: LogLine[] = [];
  const rawLines: string[] = [];
  const waiters = new Set<() => void>();
  let tail = '';
  let partial = '';
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => {
    tail = (tail + d.toString()).slice(-20_000);
    partial += d.toString();
    const lines = partial.split('\n');
    partial = lines.pop()!;
    rawLines.push(...lines);
    for (const line of lines) {
      if (!line.startsWith('{')) continue;
      try {
        log.push(JSON.parse(line) as LogLine);
      } catch {
        // a line cut by the process dying
      }
    }
    for (const w of waiters) w();
  });
  const exited = new Promise<number | string>((resolve) =>
    child.once('exit', (code, signal) => {
      running.delete(child);
      for (const w of waiters) w();
      resolve(code ?? signal ?? 'unknown');
    }),
  );
  const handle: AgentProcess = {
    child,
    pid: child.pid!,
    log,
    rawLines,
    stderr: () => tail,
    stdout: () => out,
    exited,
    waitForLog(ok, timeoutMs, what) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const hit = log.find(ok);
          if (hit) {
            finish();
            resolve(hit);
          } else if (child.exitCode !== null || child.signalCode !== null) {
            finish();
            reject(new Error(`agent exited (${child.exitCode ?? child.signalCode}) before ${what}; its log:\n${tail.slice(-4000)}`));
          }
        };
        const timer = setTimeout(() => {
          finish();
          reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}; agent log:\n${tail.slice(-4000)}`));
        }, timeoutMs);
        const finish = () => {
          clearTimeout(timer);
          waiters.delete(check);
        };
        waiters.add(check);
        check();
      });
    },
  };
  return handle;
}

/** Sends `signal` and waits for the exit; returns the code and how long the exit took. */
export async function stopAgent(agent: AgentProcess, signal: NodeJS.Signals = 'SIGTERM'): Promise<{ code: number | string; ms: number }> {
  const t0 = Date.now();
  agent.child.kill(signal);
  const code = await agent.exited;
  return { code, ms: Date.now() - t0 };
}

export { waitFor } from '../../support/wait.js';

export interface Received {
  topic: string;
  payload: string;
  retain: boolean;
  at: number;
}

/** Records everything under `<prefix>/#` (QoS 1) from the moment it resolves. */
export class Recorder {
  readonly messages: Received[] = [];
  private client?: MqttClient;

  constructor(
    private readonly url: string,
    private readonly prefix: string,
  ) {
    recorders.add(this);
  }

  async connect(): Promise<void> {
    await this.client?.endAsync(true);
    // No automatic reconnects: after a broker restart the test says when to subscribe again.
    const client = await mqtt.connectAsync(this.url, { clientId: `${this.prefix}-rec-${Math.random().toString(16).slice(2, 8)}`, reconnectPeriod: 0, connectTimeout: 5000 });
    client.on('message', (topic, payload, packet) => this.messages.push({ topic, payload: payload.toString(), retain: packet.retain, at: Date.now() }));
    client.on('error', () => undefined);
    await client.subscribeAsync(`${this.prefix}/#`, { qos: 1 });
    this.client = client;
  }

  events(deviceId: string, camera: string): DetectionEvent[] {
    return this.messages.filter((m) => m.topic === `${this.prefix}/${deviceId}/${camera}/events`).map((m) => parsePayload('events', m.payload) as DetectionEvent);
  }

  states(deviceId: string): DeviceState[] {
    return this.messages.filter((m) => m.topic === `${this.prefix}/${deviceId}/state`).map((m) => parsePayload('state', m.payload) as DeviceState);
  }

  lastState(deviceId: string): DeviceState | undefined {
    return this.states(deviceId).at(-1);
  }

  async close(): Promise<void> {
    await this.client?.endAsync(true);
    this.client = undefined;
  }
}

export interface HttpReply {
  status: number;
  type: string;
  body: string;
}

export function httpGet(port: number, path: string, method = 'GET'): Promise<HttpReply> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method, timeout: 5000, agent: false }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, type: String(res.headers['content-type'] ?? ''), body }));
    });
    req.on('timeout', () => req.destroy(new Error(`GET ${path} timed out`)));
    req.on('error', reject);
    req.end();
  });
}

/** The value of one series in Prometheus text, e.g. metric(text, 'kestrel_frames_in_total', { camera: 'door' }). */
export function metric(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of text.split('\n')) {
    if (line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{([^}]*)\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const have = Object.fromEntries([...(m[3] ?? '').matchAll(/([a-zA-Z_]+)="((?:[^"\\]|\\.)*)"/g)].map((l) => [l[1], l[2]]));
    if (Object.entries(labels).every(([k, v]) => have[k] === v)) return Number(m[4]);
  }
  return undefined;
}

/** The ids of events the agent logged as accepted into its outbox ("event queued", debug level), in order. */
export function queuedEventIds(log: LogLine[], camera?: string): string[] {
  return log.filter((l) => l.msg === 'event queued' && (camera === undefined || l.camera === camera)).map((l) => l.id as string);
}

export interface DemoAgentConfig {
  deviceId: string;
  brokerUrl: string;
  prefix: string;
  stateDir: string;
  /** Port for /healthz and /metrics; none: HTTP off. */
  httpPort?: number;
  /** More keys inside `mqtt: { ... }`, e.g. `reconnect: { minMs: 300, maxMs: 1000 }`. */
  mqtt?: string;
  /** Events sooner than the defaults: a track is `new` after 2 frames, `update` every second. */
  eventUpdateIntervalSeconds?: number;
}

/** The YAML of an agent on the demo camera at 2 fps with NanoDet on one thread: what fault tests run. */
export function demoAgentYaml(c: DemoAgentConfig): string {
  return [
    `device: { id: ${c.deviceId} }`,
    `mqtt: { url: "${c.brokerUrl}", prefix: ${c.prefix}${c.mqtt ? `, ${c.mqtt}` : ''} }`,
    `stateDir: "${c.stateDir}"`,
    c.httpPort === undefined ? 'http: { enabled: false }' : `http: { enabled: true, bind: "127.0.0.1:${c.httpPort}" }`,
    'model: { threads: 1 }',
    'cameras:',
    '  - name: demo',
    '    source: { type: demo }',
    '    fps: 2',
    '    tracker: { minHits: 2 }',
    ...(c.eventUpdateIntervalSeconds === undefined ? [] : [`    eventUpdateIntervalSeconds: ${c.eventUpdateIntervalSeconds}`]),
  ].join('\n');
}

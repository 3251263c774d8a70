// A real MQTT broker for tests. `startBroker()` reuses the Mosquitto that listens on
// 127.0.0.1:1883 when there is one (tests then keep apart by topic prefix, see uniquePrefix()),
// else spawns a private `mosquitto` on a free port. Tests that stop and start the broker ask for
// a private one: `startBroker({ private: true })`.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './ports.js';

export interface BrokerHandle {
  /** `mqtt://127.0.0.1:<port>` */
  url: string;
  host: string;
  port: number;
  /** True when this handle spawned the broker (and stop() ends it). */
  owned: boolean;
  /** Ends a spawned broker; for the shared one, does nothing. */
  stop(): Promise<void>;
}

export interface PrivateBroker extends BrokerHandle {
  owned: true;
  running: boolean;
  /** The broker dies (SIGKILL), as in a crash or a power cut. */
  kill(): Promise<void>;
  /** Starts it again on the same port; resolves when it answers MQTT CONNECT. */
  start(): Promise<void>;
}

const SHARED_PORT = 1883;
const READY_TIMEOUT_MS = 10_000;
const children = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of children) child.kill('SIGKILL');
});

export function startBroker(options?: { private?: false }): Promise<BrokerHandle>;
export function startBroker(options: { private: true }): Promise<PrivateBroker>;
export async function startBroker(options: { private?: boolean } = {}): Promise<BrokerHandle | PrivateBroker> {
  if (!options.private && (await mqttAnswers(SHARED_PORT))) {
    return { url: `mqtt://127.0.0.1:${SHARED_PORT}`, host: '127.0.0.1', port: SHARED_PORT, owned: false, stop: async () => {} };
  }
  return startPrivateBroker();
}

async function startPrivateBroker(): Promise<PrivateBroker> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'kestrel-mosquitto-'));
  const configPath = join(dir, 'mosquitto.conf');
  writeFileSync(configPath, [`listener ${port} 127.0.0.1`, 'allow_anonymous true', 'persistence false', 'log_dest stderr', ''].join('\n'));
  let child: ChildProcess | undefined;
  let stderr = '';

  const handle: PrivateBroker = {
    url: `mqtt://127.0.0.1:${port}`,
    host: '127.0.0.1',
    port,
    owned: true,
    get running() {
      return child !== undefined && child.exitCode === null && child.signalCode === null;
    },
    async start() {
      if (handle.running) return;
      stderr = '';
      const proc = spawn('mosquitto', ['-c', configPath], { stdio: ['ignore', 'ignore', 'pipe'] });
      child = proc;
      children.add(proc);
      proc.once('close', () => children.delete(proc));
      proc.stderr?.on('data', (d: Buffer) => {
        stderr = (stderr + d.toString()).slice(-4000);
      });
      const deadline = Date.now() + READY_TIMEOUT_MS;
      while (!(await mqttAnswers(port))) {
        if (proc.exitCode !== null || proc.signalCode !== null) throw new Error(`mosquitto on port ${port} exited: ${stderr.trim()}`);
        if (Date.now() > deadline) throw new Error(`mosquitto on port ${port} not ready after ${READY_TIMEOUT_MS} ms: ${stderr.trim()}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    },
    kill: () => endChild('SIGKILL'),
    async stop() {
      await endChild('SIGTERM');
      rmSync(dir, { recursive: true, force: true });
    },
  };

  function endChild(signal: NodeJS.Signals): Promise<void> {
    const proc = child;
    child = undefined;
    if (!proc || proc.exitCode !== null || proc.signalCode !== null) return Promise.resolve();
    return new Promise((resolve) => {
      const force = setTimeout(() => proc.kill('SIGKILL'), 3000);
      proc.once('close', () => {
        clearTimeout(force);
        resolve();
      });
      proc.kill(signal);
    });
  }

  await handle.start();
  return handle;
}

/**
 * True when an MQTT broker answers on the port: an MQTT 3.1.1 CONNECT gets a CONNACK. A plain
 * TCP connect would also accept some other program listening there.
 */
export function mqttAnswers(port: number, host = '127.0.0.1', timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('error', () => done(false));
    socket.once('connect', () => {
      const clientId = Buffer.from(`kestrel-probe-${process.pid}-${Math.random().toString(36).slice(2, 8)}`);
      const body = Buffer.concat([
        Buffer.from([0x00, 0x04, 0x4d, 0x51, 0x54, 0x54, 0x04, 0x02, 0x00, 0x0a]), // "MQTT", level 4, clean session, keepalive 10 s
        Buffer.from([clientId.length >> 8, clientId.length & 0xff]),
        clientId,
      ]);
      socket.write(Buffer.concat([Buffer.from([0x10, body.length]), body]));
    });
    socket.on('data', (d: Buffer) => {
      const ok = d.length >= 4 && d[0] === 0x20 && d[1] === 0x02 && d[3] === 0x00;
      if (ok) socket.write(Buffer.from([0xe0, 0x00])); // DISCONNECT, politely
      done(ok);
    });
  });
}

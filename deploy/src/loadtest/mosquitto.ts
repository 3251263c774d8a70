import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KestrelError } from '@kestrel/core';

export interface PrivateBroker {
  /** `mqtt://127.0.0.1:<port>` */
  url: string;
  host: string;
  port: number;
  owned: true;
  readonly running: boolean;
  /** The broker process's id while it runs (for CPU figures). */
  readonly pid: number | undefined;
  /** The broker dies (SIGKILL), as in a crash or a power cut. */
  kill(): Promise<void>;
  /** Starts it again on the same port; resolves when it answers MQTT CONNECT. */
  start(): Promise<void>;
  /** SIGTERM, then its folder goes. */
  stop(): Promise<void>;
}

export interface PrivateBrokerOptions {
  /** Extra mosquitto.conf lines (e.g. `max_queued_messages 100000`). */
  config?: string[];
  /** The mosquitto binary: $KESTREL_MOSQUITTO, else `mosquitto` on the PATH, else /usr/sbin/mosquitto. */
  binary?: string;
}

const READY_TIMEOUT_MS = 10_000;
const children = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of children) child.kill('SIGKILL');
});

/** A TCP port that was free a moment ago on 127.0.0.1. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() => (typeof addr === 'object' && addr ? resolve(addr.port) : reject(new Error('no port'))));
    });
  });
}

/**
 * A Mosquitto of its own on a free 127.0.0.1 port, without persistence: tests and the load test
 * that must not share the machine's broker (they kill it, or load it with thousands of clients).
 */
export async function startPrivateBroker(options: PrivateBrokerOptions = {}): Promise<PrivateBroker> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'kestrel-mosquitto-'));
  const configPath = join(dir, 'mosquitto.conf');
  writeFileSync(configPath, [`listener ${port} 127.0.0.1`, 'allow_anonymous true', 'persistence false', 'log_dest stderr', ...(options.config ?? []), ''].join('\n'));
  const binary = options.binary ?? process.env.KESTREL_MOSQUITTO ?? 'mosquitto';
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
    get pid() {
      return handle.running ? child?.pid : undefined;
    },
    async start() {
      if (handle.running) return;
      stderr = '';
      const proc = await spawnMosquitto(binary, configPath);
      child = proc;
      children.add(proc);
      proc.once('close', () => children.delete(proc));
      proc.stderr?.on('data', (d: Buffer) => {
        stderr = (stderr + d.toString()).slice(-4000);
      });
      const deadline = Date.now() + READY_TIMEOUT_MS;
      while (!(await mqttAnswers(port))) {
        if (proc.exitCode !== null || proc.signalCode !== null) throw new KestrelError('E_BROKER', `mosquitto on port ${port} exited: ${stderr.trim()}`);
        if (Date.now() > deadline) throw new KestrelError('E_BROKER', `mosquitto on port ${port} not ready after ${READY_TIMEOUT_MS} ms: ${stderr.trim()}`);
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

/** Spawns the binary, falling back to Debian's /usr/sbin/mosquitto (not on a normal user's PATH). */
async function spawnMosquitto(binary: string, configPath: string): Promise<ChildProcess> {
  for (const candidate of binary === 'mosquitto' ? ['mosquitto', '/usr/sbin/mosquitto'] : [binary]) {
    const proc = spawn(candidate, ['-c', configPath], { stdio: ['ignore', 'ignore', 'pipe'] });
    const failed = await new Promise<NodeJS.ErrnoException | undefined>((resolve) => {
      proc.once('error', (err) => resolve(err));
      proc.once('spawn', () => resolve(undefined));
    });
    if (!failed) return proc;
    if (failed.code !== 'ENOENT') throw new KestrelError('E_BROKER', `cannot start ${candidate}: ${failed.message}`);
  }
  throw new KestrelError('E_BROKER', `mosquitto not found (looked for ${binary}${binary === 'mosquitto' ? ' on the PATH and /usr/sbin/mosquitto' : ''}); install it (apt install mosquitto) or pass --broker <url>`);
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

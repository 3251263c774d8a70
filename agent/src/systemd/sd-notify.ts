import { execFile, execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import type { Logger } from '@kestrel/core';

/**
 * The sd_notify protocol: newline-separated `KEY=value` assignments sent as one datagram to the
 * Unix socket named by $NOTIFY_SOCKET. Node has no Unix datagram sockets of its own (`dgram` is
 * UDP, `net` is streams), so there are three ways, tried in order:
 * - `socket`: the optional `unix-dgram` addon sends from this process (works with NotifyAccess=main);
 * - `systemd-notify`: the systemd tool, run as a child for each message. systemd must then accept
 *   messages from other processes of the unit (NotifyAccess=all), and a process per message is
 *   heavier than a datagram: a fallback, not the first choice;
 * - `none`: no $NOTIFY_SOCKET (not run by systemd, or not Type=notify): nothing is sent.
 */
export interface Notifier {
  readonly kind: 'socket' | 'systemd-notify' | 'none';
  /** Sends assignments, e.g. `{ READY: 1, STATUS: 'streaming' }`. Never throws. */
  notify(fields: Record<string, string | number>): void;
  close(): void;
}

type UnixDgramSocket = {
  send(buf: Buffer, offset: number, length: number, path: string, callback?: (err?: Error) => void): void;
  on(event: 'error', listener: (err: Error) => void): void;
  close(): void;
};
type UnixDgram = { createSocket(type: 'unix_dgram'): UnixDgramSocket };

export function encodeNotification(fields: Record<string, string | number>): string {
  // A STATUS with a newline would start a new assignment: keep every value on its line.
  return Object.entries(fields)
    .map(([key, value]) => `${key}=${String(value).replace(/\n/g, ' ')}`)
    .join('\n');
}

export interface NotifierOptions {
  env?: NodeJS.ProcessEnv;
  logger: Logger;
  /** For tests: pretend the addon is missing, to exercise the fallback. */
  preferAddon?: boolean;
}

export function createNotifier(options: NotifierOptions): Notifier {
  const env = options.env ?? process.env;
  const path = env.NOTIFY_SOCKET;
  const log = options.logger;
  if (!path) return { kind: 'none', notify() {}, close() {} };

  // unix-dgram copies the path with strncpy, so it cannot reach an abstract socket ("@name").
  const addon = options.preferAddon === false || path.startsWith('@') ? undefined : loadUnixDgram(log);
  if (addon) {
    const socket = addon.createSocket('unix_dgram');
    let failures = 0;
    socket.on('error', (err) => log.warn({ err: err.message }, 'sd_notify socket error'));
    return {
      kind: 'socket',
      notify(fields) {
        const message = Buffer.from(encodeNotification(fields));
        socket.send(message, 0, message.length, path, (err) => {
          // One line per run of failures, not one per watchdog ping.
          if (err && failures++ === 0) log.warn({ err: err.message, socket: path }, 'sd_notify message not delivered');
          if (!err) failures = 0;
        });
      },
      close() {
        socket.close();
      },
    };
  }
  if (hasSystemdNotify()) {
    log.info('sd_notify through the systemd-notify command (the unix-dgram addon is not available): the unit needs NotifyAccess=all');
    let failures = 0;
    return {
      kind: 'systemd-notify',
      notify(fields) {
        const args = [`--pid=${process.pid}`, ...encodeNotification(fields).split('\n')];
        execFile('systemd-notify', args, { env: { ...process.env, NOTIFY_SOCKET: path }, timeout: 5000 }, (err) => {
          if (err && failures++ === 0) log.warn({ err: err.message }, 'systemd-notify failed');
          if (!err) failures = 0;
        });
      },
      close() {},
    };
  }
  log.warn({ socket: path }, 'NOTIFY_SOCKET is set but neither the unix-dgram addon nor systemd-notify is available: systemd will not hear READY or WATCHDOG');
  return { kind: 'none', notify() {}, close() {} };
}

function loadUnixDgram(log: Logger): UnixDgram | undefined {
  try {
    return createRequire(import.meta.url)('unix-dgram') as UnixDgram;
  } catch (err) {
    log.debug({ err: (err as Error).message }, 'unix-dgram addon not available');
    return undefined;
  }
}

function hasSystemdNotify(): boolean {
  try {
    execFileSync('systemd-notify', ['--version'], { stdio: 'ignore', timeout: 5000 });
    return true;
  } catch {
    return false;
  }
}

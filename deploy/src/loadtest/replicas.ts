import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { KestrelError } from '@kestrel/core';
import type { StoresConfig } from '../store/open.js';

export interface ReplicaSpec {
  name: string;
  port: number;
  dir: string;
  stores: StoresConfig;
  mqtt: { url: string; prefix: string; clientId: string; sessions: number };
  leaseSeconds: number;
  /** argv after the node binary that starts `kestrel hub` (`--config <file>` is appended). */
  command: string[];
  operatorToken: string;
}

/** CPU and memory of one replica over the measured time, every process it ran as together. */
export interface ReplicaUsage {
  replica: string;
  /** 100 is one core busy the whole time. */
  cpuPercent: number;
  /** The largest resident set seen. */
  rssMb: number;
  /** Processes it ran as (2 after a kill and restart). */
  processes: number;
  /** Log lines at level error or worse. */
  errors: number;
  /** Log lines at level warn (refused samples, a broker that went away, a lost lease). */
  warnings: number;
  /** What the warnings and errors said, the most frequent first (at most 5). */
  said: { msg: string; count: number }[];
}

const children = new Set<ChildProcess>();
process.once('exit', () => children.forEach((c) => c.kill('SIGKILL')));

/** Clock ticks per second of /proc/<pid>/stat's CPU times (USER_HZ, 100 on Linux builds). */
const USER_HZ = 100;

/** utime + stime of a process in seconds, and its resident set in bytes; undefined once it is gone. */
export function processUsage(pid: number): { cpuSeconds: number; rssBytes: number } | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name is in parentheses and may hold spaces: fields are counted after it.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const cpuSeconds = (Number(fields[11]) + Number(fields[12])) / USER_HZ;
    const rssPages = Number(fields[21]);
    return { cpuSeconds, rssBytes: rssPages * 4096 };
  } catch {
    return undefined;
  }
}

/**
 * CPU seconds of every process named `comm` on this machine (e.g. `postgres`: the server's
 * backends, which belong to whoever connected — other users' included).
 */
export function cpuSecondsOf(comm: string): number {
  let total = 0;
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const name = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      if (name !== comm) continue;
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      total += (Number(fields[11]) + Number(fields[12])) / USER_HZ;
    } catch {
      // gone meanwhile
    }
  }
  return total;
}

/**
 * One hub replica as its own `kestrel hub` process, on its port, with the run's stores and broker.
 * `kill()` is SIGKILL (a crash); `start()` again brings it back under the same name, so it resumes
 * its persistent MQTT session.
 */
export class Replica {
  private child?: ChildProcess;
  private log = '';
  private errorLines = 0;
  private warnLines = 0;
  /** Warning and error messages by text; bounded: a new text past 50 is not counted by name. */
  private readonly said = new Map<string, number>();
  private partial = '';
  /** CPU seconds per process id, the last figure read (a killed process keeps its last). */
  private readonly cpuByPid = new Map<number, number>();
  private peakRss = 0;
  private measuring?: { from: number; cpuAtStart: Map<number, number> };
  private measured?: { seconds: number; cpu: number };
  readonly configPath: string;

  constructor(readonly spec: ReplicaSpec) {
    mkdirSync(spec.dir, { recursive: true });
    this.configPath = join(spec.dir, 'hub.yaml');
    const { stores, mqtt } = spec;
    writeFileSync(
      this.configPath,
      [
        `bind: 127.0.0.1:${spec.port}`,
        `dataDir: ${JSON.stringify(join(spec.dir, 'data'))}`,
        // JSON is YAML: the store sections as the run built them.
        `records: ${JSON.stringify(stores.records)}`,
        `blobs: ${JSON.stringify(stores.blobs)}`,
        `replica: ${spec.name}`,
        `mqtt: ${JSON.stringify({ enabled: true, url: mqtt.url, prefix: mqtt.prefix, clientId: mqtt.clientId, sessions: mqtt.sessions, samples: true, reconnect: { minMs: 200, maxMs: 2000 } })}`,
        `rollouts: { leaseSeconds: ${spec.leaseSeconds}, tickMs: 1000 }`,
        // Warnings and errors only: an info line per sample batch would cost the replica more than the batch.
        'log: { level: warn }',
        '',
      ].join('\n'),
    );
  }

  get url(): string {
    return `http://127.0.0.1:${this.spec.port}`;
  }

  get pid(): number | undefined {
    return this.running() ? this.child?.pid : undefined;
  }

  running(): boolean {
    return this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null;
  }

  /** The last of what it logged (JSON lines), for a report on what went wrong. */
  logTail(chars = 4000): string {
    return this.log.slice(-chars);
  }

  /** Starts the process; resolves when its API answers. */
  async start(timeoutMs = 60_000): Promise<void> {
    if (this.running()) return;
    const proc = spawn(process.execPath, [...this.spec.command, '--config', this.configPath], {
      stdio: ['ignore', 'ignore', 'pipe'],
      env: { ...process.env, KESTREL_LOG_FORMAT: 'json' },
    });
    this.child = proc;
    children.add(proc);
    proc.once('exit', () => children.delete(proc));
    proc.stderr!.on('data', (d: Buffer) => {
      const text = d.toString();
      this.log = (this.log + text).slice(-50_000);
      const lines = (this.partial + text).split('\n');
      this.partial = lines.pop() ?? '';
      for (const line of lines) {
        const level = /"level":(\d+)/.exec(line)?.[1];
        if (level !== '40' && level !== '50' && level !== '60') continue;
        if (level === '40') this.warnLines++;
        else this.errorLines++;
        const msg = /"msg":"((?:[^"\\]|\\.)*)"/.exec(line)?.[1] ?? '(no message)';
        if (this.said.has(msg) || this.said.size < 50) this.said.set(msg, (this.said.get(msg) ?? 0) + 1);
      }
    });
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (proc.exitCode !== null || proc.signalCode !== null) {
        throw new KestrelError('E_LOADTEST', `hub replica ${this.spec.name} exited (${proc.exitCode ?? proc.signalCode}) before it served; its log:\n${this.logTail()}`);
      }
      const ok = await fetch(`${this.url}/api/v1/replica`, { headers: { authorization: `Bearer ${this.spec.operatorToken}` }, signal: AbortSignal.timeout(2000) })
        .then((r) => r.ok)
        .catch(() => false);
      if (ok) return;
      if (Date.now() > deadline) throw new KestrelError('E_LOADTEST', `hub replica ${this.spec.name} did not serve within ${timeoutMs / 1000} s; its log:\n${this.logTail()}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }

  /** SIGKILL: a crash, nothing cleaned up. */
  kill(): Promise<void> {
    return this.end('SIGKILL');
  }

  /** SIGTERM: the hub lets its leases go and closes its stores. */
  stop(): Promise<void> {
    return this.end('SIGTERM');
  }

  /** Reads CPU and memory now; call every second or so while measuring (a killed process's last figure stays). */
  sample(): void {
    const pid = this.pid;
    if (pid === undefined) return;
    const usage = processUsage(pid);
    if (!usage) return;
    this.cpuByPid.set(pid, usage.cpuSeconds);
    this.peakRss = Math.max(this.peakRss, usage.rssBytes);
  }

  beginMeasure(): void {
    this.sample();
    this.measuring = { from: Date.now(), cpuAtStart: new Map(this.cpuByPid) };
  }

  endMeasure(): void {
    this.sample();
    if (!this.measuring) return;
    let cpu = 0;
    for (const [pid, seconds] of this.cpuByPid) cpu += seconds - (this.measuring.cpuAtStart.get(pid) ?? 0);
    this.measured = { seconds: (Date.now() - this.measuring.from) / 1000, cpu };
    this.measuring = undefined;
  }

  usage(): ReplicaUsage {
    const m = this.measured ?? { seconds: 1, cpu: 0 };
    return {
      replica: this.spec.name,
      cpuPercent: Math.round((m.cpu / m.seconds) * 1000) / 10,
      rssMb: Math.round(this.peakRss / 2 ** 20),
      processes: this.cpuByPid.size,
      errors: this.errorLines,
      warnings: this.warnLines,
      said: [...this.said].sort((a, b) => b[1] - a[1]).slice(0, 5).map(([msg, count]) => ({ msg, count })),
    };
  }

  private end(signal: NodeJS.Signals): Promise<void> {
    this.sample();
    const proc = this.child;
    this.child = undefined;
    if (!proc || proc.exitCode !== null || proc.signalCode !== null) return Promise.resolve();
    return new Promise((resolve) => {
      const force = setTimeout(() => proc.kill('SIGKILL'), 10_000);
      proc.once('exit', () => {
        clearTimeout(force);
        resolve();
      });
      proc.kill(signal);
    });
  }
}

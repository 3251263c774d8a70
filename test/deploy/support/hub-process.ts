// A real hub for tests: `kestrel hub --config <file>` as its own process (as a user starts it),
// on a free port with its data in a temporary folder. Tokens are issued through the hub's own
// code against the same SQLite file (WAL lets the test and the hub share it), which is quicker
// than one CLI process per token; the CLI commands themselves are tested in hub-cli.test.ts.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { closeStores, FsBlobStore, issueToken, PgRecordStore, S3BlobStore, SqliteRecordStore, type HubStores, type StoresConfig } from '@kestrel/deploy';
import { REPO_ROOT } from '../../support/images.js';
import { freePort } from '../../support/ports.js';

export interface HubProcess {
  url: string;
  port: number;
  dir: string;
  configPath: string;
  /** Stores opened on the hub's own database and blob folder (for checks and tokens). */
  stores(): HubStores;
  /** Issues a device (or operator) token. */
  token(name: string, role?: 'device' | 'operator'): Promise<string>;
  /** Log lines the hub wrote (JSON). */
  log(): string;
  running(): boolean;
  /** The hub process's resident memory now, in bytes (from /proc). */
  rssBytes(): number;
  /** Starts the hub (again); resolves when it listens. */
  start(): Promise<void>;
  /** SIGKILL: a crash. */
  kill(): Promise<void>;
  /** SIGTERM, then the temporary folder goes. */
  stop(): Promise<void>;
}

const children = new Set<ChildProcess>();
process.once('exit', () => children.forEach((c) => c.kill('SIGKILL')));

/**
 * `stores` puts the hub on other stores (PostgreSQL, S3) than its data folder; the handle's
 * stores() then opens the same ones, directly (a test's own view, past any proxy the hub is given).
 */
export async function startHub(
  options: { extraConfig?: string[]; mqtt?: { url: string; prefix: string; samples?: boolean; sessions?: number }; stores?: { hub: StoresConfig; direct?: StoresConfig } } = {},
): Promise<HubProcess> {
  const dir = mkdtempSync(join(tmpdir(), 'kestrel-hub-'));
  const port = await freePort();
  const configPath = join(dir, 'hub.yaml');
  writeFileSync(
    configPath,
    [
      `bind: 127.0.0.1:${port}`,
      'dataDir: data',
      options.mqtt
        ? `mqtt: { enabled: true, url: "${options.mqtt.url}", prefix: ${options.mqtt.prefix}, clientId: hub-${port}, samples: ${options.mqtt.samples ?? false}, sessions: ${options.mqtt.sessions ?? 1}, reconnect: { minMs: 200, maxMs: 1000 } }`
        : 'mqtt: { enabled: false }',
      // JSON is YAML: the store sections as the test built them.
      ...(options.stores ? [`records: ${JSON.stringify(options.stores.hub.records)}`, `blobs: ${JSON.stringify(options.stores.hub.blobs)}`] : []),
      ...(options.extraConfig ?? []),
      '',
    ].join('\n'),
  );
  let child: ChildProcess | undefined;
  let log = '';
  let stores: HubStores | undefined;

  const handle: HubProcess = {
    url: `http://127.0.0.1:${port}`,
    port,
    dir,
    configPath,
    stores() {
      // The hub migrated the database at start, so these open without migrating.
      const config = options.stores?.direct ?? options.stores?.hub;
      stores ??= {
        records: config?.records.type === 'postgres' ? new PgRecordStore(config.records) : new SqliteRecordStore(join(dir, 'data', 'hub.sqlite')),
        blobs: config?.blobs.type === 's3' ? new S3BlobStore(config.blobs) : new FsBlobStore(join(dir, 'data', 'blobs')),
      };
      return stores;
    },
    async token(name, role = 'device') {
      return (await issueToken(handle.stores().records, name, role)).token;
    },
    log: () => log,
    running: () => child !== undefined && child.exitCode === null && child.signalCode === null,
    rssBytes() {
      if (!child?.pid) throw new Error('the hub is not running');
      const kb = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'));
      if (!kb) throw new Error(`no VmRSS for the hub (pid ${child.pid})`);
      return Number(kb[1]) * 1024;
    },
    async start() {
      if (handle.running()) return;
      const proc = spawn(process.execPath, ['--conditions=kestrel-source', '--import', 'tsx', join(REPO_ROOT, 'cli/src/entry.ts'), 'hub', '--config', configPath], {
        // tsx resolves from the working directory; the config names its data folder itself.
        cwd: REPO_ROOT,
        stdio: ['ignore', 'ignore', 'pipe'],
        env: { ...process.env, KESTREL_LOG_LEVEL: 'info', KESTREL_LOG_FORMAT: 'json' },
      });
      child = proc;
      children.add(proc);
      proc.once('exit', () => children.delete(proc));
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`hub did not start within 60 s; its log:\n${log}`)), 60_000);
        proc.stderr!.on('data', (d: Buffer) => {
          log = (log + d.toString()).slice(-50_000);
          // Off a terminal the hub writes JSON lines only; this one says it listens.
          if (log.includes('"msg":"hub started"')) {
            clearTimeout(timer);
            resolve();
          }
        });
        proc.once('exit', (code, signal) => {
          clearTimeout(timer);
          reject(new Error(`hub exited (${code ?? signal}) before listening; its log:\n${log}`));
        });
      });
    },
    kill: () => end('SIGKILL'),
    async stop() {
      await end('SIGTERM');
      if (stores) await closeStores(stores);
      rmSync(dir, { recursive: true, force: true });
    },
  };

  function end(signal: NodeJS.Signals): Promise<void> {
    const proc = child;
    child = undefined;
    if (!proc || proc.exitCode !== null || proc.signalCode !== null) return Promise.resolve();
    return new Promise((resolve) => {
      const force = setTimeout(() => proc.kill('SIGKILL'), 5000);
      proc.once('exit', () => {
        clearTimeout(force);
        resolve();
      });
      proc.kill(signal);
    });
  }

  await handle.start();
  return handle;
}

/** POST a JSON body (string or value) to the hub; returns status and parsed answer. */
export async function postSamples(url: string, token: string | undefined, body: unknown, headers: Record<string, string> = {}): Promise<{ status: number; body: any }> {
  const res = await fetch(`${url}/api/v1/samples`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}), ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    // left as text
  }
  return { status: res.status, body: parsed };
}

export async function getJson(url: string, token: string): Promise<{ status: number; body: any }> {
  const res = await fetch(url, { headers: { authorization: `Bearer ${token}` } });
  return { status: res.status, body: await res.json() };
}

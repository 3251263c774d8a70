// The sd_notify protocol for real: the test plays systemd's part with a Unix datagram socket
// (the unix-dgram addon) as $NOTIFY_SOCKET, and the agent runs as its own process with
// $WATCHDOG_USEC set, reading a real RTSP camera. READY=1 comes once it is up, WATCHDOG=1 every
// half period while frames go through inference, none while the camera is stalled (so systemd
// would restart a stuck agent), again once the camera is back, and STOPPING=1 on SIGTERM.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger } from '@kestrel/core';
import { createNotifier } from '@kestrel/agent/systemd/sd-notify';
import { startRtspServer, type RtspTestServer } from '../support/rtsp.js';
import { startBroker, type BrokerHandle } from '../support/broker.js';
import { uniquePrefix } from '../support/ports.js';
import { cleanUp, startAgentProcess, stopAgent, waitFor } from '../agent/support/agent-process.js';

interface Datagram {
  at: number;
  text: string;
}

type UnixDgram = { createSocket(type: 'unix_dgram', listener: (buf: Buffer) => void): { bind(path: string): void; close(): void; on(e: 'error', l: (err: Error) => void): void } };
const unixDgram = createRequire(import.meta.url)('unix-dgram') as UnixDgram;

const dir = mkdtempSync(join(tmpdir(), 'kestrel-notify-'));
const sockets: Array<{ close(): void }> = [];
let rtsp: RtspTestServer | undefined;
let broker: BrokerHandle | undefined;
after(async () => {
  await cleanUp();
  for (const s of sockets) s.close();
  await rtsp?.stop();
  await broker?.stop();
  rmSync(dir, { recursive: true, force: true });
});

/** A fake systemd notify socket: every datagram, with its arrival time. */
function fakeSystemd(name: string): { path: string; received: Datagram[] } {
  const path = join(dir, name);
  const received: Datagram[] = [];
  const socket = unixDgram.createSocket('unix_dgram', (buf) => received.push({ at: Date.now(), text: buf.toString() }));
  socket.on('error', (err) => received.push({ at: Date.now(), text: `ERROR ${err.message}` }));
  socket.bind(path);
  sockets.push(socket);
  return { path, received };
}

const log = createLogger('notify-test', { level: 'silent' });

test('the notifier sends through the unix-dgram addon, falls back to systemd-notify, and is silent without NOTIFY_SOCKET', { timeout: 30_000 }, async () => {
  const sd = fakeSystemd('direct.sock');
  const direct = createNotifier({ env: { NOTIFY_SOCKET: sd.path }, logger: log });
  assert.equal(direct.kind, 'socket');
  direct.notify({ READY: 1, STATUS: 'two\nlines' });
  await waitFor('the datagram', 5000, () => sd.received[0]);
  assert.equal(sd.received[0]!.text, 'READY=1\nSTATUS=two lines', 'one assignment per line; a value never starts a new one');
  direct.close();

  const fallbackSd = fakeSystemd('fallback.sock');
  const fallback = createNotifier({ env: { NOTIFY_SOCKET: fallbackSd.path }, logger: log, preferAddon: false });
  assert.equal(fallback.kind, 'systemd-notify');
  fallback.notify({ READY: 1, STATUS: 'up' });
  const got = await waitFor('the datagram from systemd-notify', 10_000, () => fallbackSd.received.find((d) => d.text.includes('READY=1')));
  assert.match(got.text, new RegExp(`MAINPID=${process.pid}`), 'systemd-notify names the agent as the main process');
  assert.match(got.text, /STATUS=up/);

  assert.equal(createNotifier({ env: {}, logger: log }).kind, 'none');
  // unix-dgram cannot address abstract sockets: the fallback takes those.
  assert.notEqual(createNotifier({ env: { NOTIFY_SOCKET: '@kestrel-test' }, logger: log }).kind, 'socket');
});

test('READY=1, then WATCHDOG=1 only while frames flow: it stops while the camera is stalled and resumes when it is back', { timeout: 90_000 }, async () => {
  [rtsp, broker] = await Promise.all([startRtspServer(), startBroker()]);
  const sd = fakeSystemd('agent.sock');
  const watchdogMs = 4000;
  const configPath = join(dir, 'agent.yaml');
  writeFileSync(
    configPath,
    [
      'device: { id: notify-1 }',
      `mqtt: { url: "${broker.url}", prefix: ${uniquePrefix('notify')} }`,
      `stateDir: "${join(dir, 'state')}"`,
      'http: { enabled: false }',
      'model: { threads: 1 }',
      'cameras:',
      '  - name: door',
      `    source: { type: rtsp, url: "${rtsp.url}", transport: udp }`,
      '    fps: 2',
      '    watchdog: { stallSeconds: 3, backoff: { minMs: 500, maxMs: 2000 } }',
    ].join('\n'),
  );
  const agent = startAgentProcess(configPath, { env: { NOTIFY_SOCKET: sd.path, WATCHDOG_USEC: String(watchdogMs * 1000) } });
  const pings = (from = 0, to = Infinity) => sd.received.filter((d) => d.at >= from && d.at <= to && /^WATCHDOG=1$/m.test(d.text));

  const ready = await waitFor('READY=1', 60_000, () => sd.received.find((d) => /^READY=1$/m.test(d.text)));
  const beforeReady = sd.received.slice(0, sd.received.indexOf(ready));
  assert.ok(beforeReady.every((d) => /^STATUS=/.test(d.text)), `only STATUS= lines before READY=1: ${beforeReady.map((d) => d.text).join(' | ')}`);
  assert.ok(beforeReady.some((d) => /^STATUS=loading model /.test(d.text)), 'systemctl status shows the model loading');
  assert.match(ready.text, /^STATUS=.*cameras? streaming/m);
  await waitFor('three watchdog pings', 30_000, () => (pings().length >= 3 ? true : undefined));
  const times = pings().map((d) => d.at);
  const gaps = times.slice(1).map((t, i) => t - times[i]!);
  assert.ok(gaps.every((g) => g >= watchdogMs / 2 - 300 && g <= watchdogMs), `pings every half period (${watchdogMs / 2} ms): ${gaps.join(', ')}`);

  // The camera stalls: its publisher stops, no frame arrives.
  const stallAt = Date.now();
  await rtsp.stopPublisher();
  const noProgress = await waitFor('a STATUS saying no frame is processed', 20_000, () => sd.received.find((d) => d.at >= stallAt && /^STATUS=.*no frame processed/m.test(d.text)));
  const lastPing = pings(0, noProgress.at).at(-1)!;
  await new Promise((r) => setTimeout(r, watchdogMs * 1.5));
  assert.equal(pings(noProgress.at).length, 0, `no WATCHDOG=1 while the camera is stalled: ${sd.received.filter((d) => d.at >= noProgress.at).map((d) => d.text).join(' | ')}`);
  assert.ok(Date.now() - lastPing.at > watchdogMs, 'silent for longer than WatchdogSec: systemd would restart the agent');

  // Back: frames flow, the watchdog is fed again.
  const backAt = Date.now();
  await rtsp.startPublisher();
  const resumed = await waitFor('WATCHDOG=1 again', 30_000, () => pings(backAt)[0]);
  console.log(
    `sd_notify: READY=1 ${ready.at - (agent.log[0]?.time ?? ready.at)} ms after the first log line; pings every ${gaps.join('/')} ms; ` +
      `last ping ${lastPing.at - stallAt} ms after the stall began, silence noticed in STATUS ${noProgress.at - stallAt} ms after; ` +
      `silent for ${resumed.at - lastPing.at} ms in all; first ping ${resumed.at - backAt} ms after the camera came back`,
  );

  const stopped = await stopAgent(agent);
  assert.equal(stopped.code, 0);
  const stopping = sd.received.find((d) => /^STOPPING=1$/m.test(d.text));
  assert.ok(stopping, 'STOPPING=1 on shutdown');
  assert.equal(pings(stopping.at).length, 0, 'no pings after STOPPING=1');
});

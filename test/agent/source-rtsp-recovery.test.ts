// Self-healing against a real RTSP server: the server dies and comes back on the same ports
// (the camera must stream again within 5 s of the stream being served again; the measured
// times are printed), an unreachable camera, and a server that accepts but never answers.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server, type Socket } from 'node:net';
import { createSource } from '@kestrel/agent/source/create';
import type { FrameSource, SourceStatus } from '@kestrel/agent/source/types';
import { startRtspServer, type RtspTestServer } from '../support/rtsp.js';
import { freePort } from '../support/ports.js';
import { nextFrame, processGone, waitForStatus } from './support/sources.js';

const sources: FrameSource[] = [];
const servers: RtspTestServer[] = [];
after(async () => {
  await Promise.all(sources.map((s) => s.stop()));
  await Promise.all(servers.map((s) => s.stop()));
});

test('the camera streams again within 5 s after the RTSP server comes back', async () => {
  const server = await startRtspServer();
  servers.push(server);
  const source = createSource({ camera: 'comeback', source: { type: 'rtsp', url: server.url, transport: 'udp' }, output: { width: 320, height: 320 }, stallSeconds: 3 });
  sources.push(source);
  const seen: SourceStatus[] = [];
  const pids = new Set<number>();
  source.on('state', (s) => {
    seen.push(s);
    if (s.pid) pids.add(s.pid);
  });
  await source.start();
  await waitForStatus(source, (s) => s.state === 'streaming', 15_000, 'streaming');
  pids.add(source.status().pid!);

  await server.kill();
  const down = await waitForStatus(source, (s) => s.state !== 'streaming', 8000, 'the outage to be noticed');
  assert.ok(['stalled', 'failed', 'connecting'].includes(down.state), down.state);
  await new Promise((r) => setTimeout(r, 4000)); // down for a while: retries back off
  const during = source.status();
  assert.ok(during.lastError, 'the outage has a reason');
  assert.ok(during.counters.restarts >= 2, `retried while down: ${during.counters.restarts}`);

  const framesBefore = source.status().counters.framesIn;
  const firstFrame = nextFrame(source, 25_000);
  firstFrame.catch(() => {}); // awaited below, after the restart
  const { startedAt, readyAt } = await server.restart();
  const first = await firstFrame;
  assert.ok(source.status().counters.framesIn > framesBefore);
  const fromServed = first.capturedAt - readyAt;
  const fromSpawn = first.capturedAt - startedAt;
  console.log(`rtsp recovery: first new frame ${fromServed} ms after the stream was served again (${fromSpawn} ms after the server process was started; server+publisher took ${readyAt - startedAt} ms)`);
  assert.ok(fromServed <= 5000, `frames flowed ${fromServed} ms after the server came back (target ≤ 5000)`);
  assert.equal(source.status().state, 'streaming');
  const states = seen.map((s) => s.state);
  assert.ok(states.includes('connecting') && states.at(-1) === 'streaming', states.join(' → '));

  await source.stop();
  for (const pid of pids) assert.ok(processGone(pid), `ffmpeg ${pid} is gone`);
});

test('an unreachable camera is failed/retrying with a clear reason, never an exception', async () => {
  const port = await freePort(); // nothing listens there
  const source = createSource({ camera: 'nowhere', source: { type: 'rtsp', url: `rtsp://user:secret@127.0.0.1:${port}/x` }, output: { width: 64, height: 64 }, backoff: { minMs: 100, maxMs: 400 } });
  sources.push(source);
  await source.start();
  const failed = await waitForStatus(source, (s) => s.state === 'failed', 10_000, 'failed');
  assert.match(failed.lastError ?? '', /Connection refused/);
  assert.doesNotMatch(failed.lastError ?? '', /secret/, 'credentials never reach the status');
  assert.ok((failed.retryInMs ?? -1) >= 0 && (failed.retryInMs ?? 0) <= 400);
  await waitForStatus(source, (s) => s.counters.restarts >= 3, 10_000, 'three retries');
  await source.stop();
  assert.equal(source.status().state, 'stopped');
});

test('a server that accepts but never answers fails after the connect timeout', async () => {
  const sockets: Socket[] = [];
  const silent: Server = createServer((socket) => sockets.push(socket)); // reads nothing, says nothing
  const port = await new Promise<number>((resolve) => silent.listen(0, '127.0.0.1', () => resolve((silent.address() as { port: number }).port)));
  try {
    const source = createSource({ camera: 'silent', source: { type: 'rtsp', url: `rtsp://127.0.0.1:${port}/x`, socketTimeoutSeconds: 30 }, output: { width: 64, height: 64 }, connectTimeoutSeconds: 2 });
    sources.push(source);
    const t0 = Date.now();
    await source.start();
    const pid = source.status().pid;
    const failed = await waitForStatus(source, (s) => s.state === 'failed', 8000, 'failed');
    const after = Date.now() - t0;
    assert.match(failed.lastError ?? '', /^no frame within 2s of starting ffmpeg/);
    assert.ok(after >= 2000 && after < 5000, `failed after ${after} ms`);
    assert.equal(failed.counters.stalls, 1);
    await source.stop();
    if (pid) assert.ok(processGone(pid), 'the hung ffmpeg was killed');
  } finally {
    for (const s of sockets) s.destroy();
    silent.close();
  }
});

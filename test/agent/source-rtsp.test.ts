// RTSP cameras through a real RTSP server (rtsp-server-perl, RTP over UDP) fed by ffmpeg with
// H.264 of a photo walking across a room: frames, the photo where the scene says, a stall
// detected by the watchdog, and no ffmpeg left behind.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createSource } from '@kestrel/agent/source/create';
import type { Frame, FrameSource, SourceState } from '@kestrel/agent/source/types';
import { startRtspServer, type RtspTestServer } from '../support/rtsp.js';
import { checkPlacement, nextFrame, processGone, waitForStatus } from './support/sources.js';

let server: RtspTestServer;
const sources: FrameSource[] = [];

before(async () => {
  server = await startRtspServer();
});
after(async () => {
  await Promise.all(sources.map((s) => s.stop()));
  await server?.stop();
});

const even = (v: number) => Math.round(v / 2) * 2;

test('an RTSP camera over UDP gives model-size frames with the photo where the publisher put it', async () => {
  const source = createSource({ camera: 'rtsp', source: { type: 'rtsp', url: server.url, transport: 'udp' }, output: { width: 416, height: 416, fps: 5 } });
  sources.push(source);
  const frames: Frame[] = [];
  source.on('frame', (f) => frames.push(f));
  const t0 = Date.now();
  await source.start();
  const streaming = await waitForStatus(source, (s) => s.state === 'streaming', 15_000, 'streaming');
  console.log(`rtsp: first frame ${streaming.lastFrameAt! - t0} ms after start`);
  assert.equal(streaming.sourceWidth, 640);
  assert.equal(streaming.sourceHeight, 360);
  await new Promise((r) => setTimeout(r, 2500));

  const { scene } = server;
  const window: [number, number] = [even(scene.width * 0.62), even(scene.width * 0.62) + even(scene.width * 0.22)];
  // The frame shows the scene some time before it was cut (encode + RTP + decode, ~0.1–0.4 s;
  // more on a loaded machine): the best fit within 1.5 s must match the publisher's placement.
  const speed = (scene.width - scene.photoWidth) / 8000;
  const margin = Math.ceil(speed * 100) + 4;
  const checked = frames.slice(2).map((f) => {
    let best = { c: checkPlacement(f, server.placement(f.capturedAt)!, margin, [window]), latencyMs: 0 };
    for (let latencyMs = 50; latencyMs <= 1500; latencyMs += 50) {
      const c = checkPlacement(f, server.placement(f.capturedAt - latencyMs)!, margin, [window]);
      if (c.insideDiffers - c.outsideDiffers > best.c.insideDiffers - best.c.outsideDiffers) best = { c, latencyMs };
    }
    return { f, ...best };
  });
  const latencies = checked.map((x) => x.latencyMs).sort((a, b) => a - b);
  console.log(`rtsp: publisher-to-frame latency median ${latencies[latencies.length >> 1]} ms, max ${latencies.at(-1)} ms`);
  assert.ok(checked.length >= 8, `frames in 2.5 s at 5 fps: ${checked.length}`);
  for (const { f, c } of checked) {
    assert.equal(f.data.length, 416 * 416 * 3);
    assert.ok(c.insideDiffers > 0.8, `frame ${f.seq}: the photo is not where the scene put it (${(c.insideDiffers * 100).toFixed(0)}% differ)`);
    assert.ok(c.outsideDiffers < 0.05, `frame ${f.seq}: something beside the photo (${(c.outsideDiffers * 100).toFixed(1)}%)`);
  }
  const pid = source.status().pid!;
  await source.stop();
  assert.ok(processGone(pid), 'stop() leaves no ffmpeg behind');
});

test('a stream that goes silent is detected by the watchdog (stalled) and resumes when it returns', async () => {
  const source = createSource({
    camera: 'stall',
    source: { type: 'rtsp', url: server.url, transport: 'udp' },
    output: { width: 160, height: 160 },
    stallSeconds: 2,
    backoff: { minMs: 200, maxMs: 1000 },
  });
  sources.push(source);
  const states: SourceState[] = [];
  const pids = new Set<number>();
  source.on('state', (s) => {
    states.push(s.state);
    if (s.pid) pids.add(s.pid);
  });
  source.on('frame', () => {
    const pid = source.status().pid;
    if (pid) pids.add(pid);
  });
  await source.start();
  await waitForStatus(source, (s) => s.state === 'streaming', 15_000, 'streaming');

  await server.stopPublisher(); // the server stays up, the packets stop
  const stalled = await waitForStatus(source, (s) => s.state === 'stalled', 6000, 'stalled');
  assert.equal(stalled.lastError, 'no frame for 2s');
  assert.equal(stalled.counters.stalls, 1);

  await server.startPublisher();
  await nextFrame(source, 15_000);
  assert.equal(source.status().state, 'streaming');
  assert.ok(source.status().counters.restarts >= 1);
  assert.deepEqual(states.slice(0, 3), ['connecting', 'streaming', 'stalled']);
  assert.equal(states.at(-1), 'streaming');

  await source.stop();
  assert.ok(pids.size >= 2, 'ffmpeg was restarted');
  for (const pid of pids) assert.ok(processGone(pid), `ffmpeg ${pid} is gone`);
});

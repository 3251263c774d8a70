// The agent end to end with real parts: rtsp-server-perl serving H.264 that ffmpeg makes from a
// real photograph walking across a background, the bundled NanoDet on ONNX Runtime, a real
// Mosquitto. The agent runs as its own process, exactly as a user starts it.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { iou, parsePayload, type DetectionEvent } from '@kestrel/core';
import { startRtspServer, type RtspTestServer } from '../support/rtsp.js';
import { startBroker, type BrokerHandle } from '../support/broker.js';
import { uniquePrefix } from '../support/ports.js';
import { REPO_ROOT } from '../support/images.js';
import { waitFor } from './support/agent-process.js';

const dir = mkdtempSync(join(tmpdir(), 'kestrel-e2e-'));
let rtsp: RtspTestServer | undefined;
let broker: BrokerHandle | undefined;
const agents = new Set<ChildProcess>();
after(async () => {
  for (const a of agents) a.kill('SIGKILL');
  await rtsp?.stop();
  await broker?.stop();
  rmSync(dir, { recursive: true, force: true });
});

function startAgent(configPath: string): ChildProcess {
  const child = spawn(process.execPath, ['--conditions=kestrel-source', '--import', 'tsx', join(REPO_ROOT, 'cli/src/entry.ts'), 'agent', '--config', configPath], {
    cwd: REPO_ROOT,
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, KESTREL_LOG_LEVEL: 'info', KESTREL_LOG_FORMAT: 'json' },
  });
  let log = '';
  child.stderr!.on('data', (d: Buffer) => (log = (log + d).slice(-20_000)));
  child.on('exit', (code, signal) => {
    agents.delete(child);
    if (code !== 0 && signal !== 'SIGKILL') process.stderr.write(`agent exited ${code ?? signal}; its log:\n${log}\n`);
  });
  agents.add(child);
  return child;
}

interface Seen {
  topic: string;
  payload: string;
  retain: boolean;
}


test('an RTSP camera yields new, update and end events for the person, with boxes where the photo is, its trackId in the detections, plus state, stats and offline', { timeout: 150_000 }, async () => {
  [rtsp, broker] = await Promise.all([startRtspServer({ photo: 'astronaut' }), startBroker()]);
  const prefix = uniquePrefix('e2e');
  const deviceId = 'cam-box-1';
  const configPath = join(dir, 'kestrel.yaml');
  writeFileSync(
    configPath,
    [
      `device: { id: ${deviceId} }`,
      `mqtt: { url: "${broker.url}", prefix: ${prefix}, statsIntervalSeconds: 2, publishDetections: true }`,
      `stateDir: "${join(dir, 'state')}"`,
      'http: { enabled: false }',
      'model: { threads: 1 }',
      'cameras:',
      '  - name: door',
      `    source: { type: rtsp, url: "${rtsp.url}", transport: udp }`,
      '    fps: 5',
      '    filters: { classes: [person], minScore: 0.4 }',
      '    tracker: { minHits: 2 }',
      '    eventUpdateIntervalSeconds: 1',
    ].join('\n'),
  );

  const seen: Seen[] = [];
  const client = await mqtt.connectAsync(broker.url, { clientId: `${prefix}-watch` });
  client.on('message', (topic, payload, packet) => seen.push({ topic, payload: payload.toString(), retain: packet.retain }));
  await client.subscribeAsync(`${prefix}/#`, { qos: 1 });

  const agent = startAgent(configPath);
  const events = () => seen.filter((m) => m.topic === `${prefix}/${deviceId}/door/events`).map((m) => parsePayload('events', m.payload) as DetectionEvent);

  await waitFor('status online', 60_000, () => seen.find((m) => m.topic === `${prefix}/${deviceId}/status` && m.payload === 'online'));
  const first = await waitFor('a new person event', 60_000, () => events().find((e) => e.type === 'new' && e.label === 'person'));
  await waitFor('an update of that person', 30_000, () => events().find((e) => e.type === 'update' && e.trackId === first.trackId));
  assert.equal(first.reason, 'confirmed');

  // From its `new` on, the person's detections name its track.
  const detections = () => seen.filter((m) => m.topic === `${prefix}/${deviceId}/door/detections`).map((m) => parsePayload('detections', m.payload));
  const tracked = await waitFor('a detections message naming the track', 20_000, () =>
    detections().find((d) => d.frameTime > first.frameTime && d.detections.some((x) => x.trackId === first.trackId)),
  );
  assert.ok(tracked.detections.filter((x) => x.trackId === first.trackId).length === 1, 'one detection per track in a frame');

  // Boxes are in source (stream) pixels, where the test put the photo at that frame's time.
  const located = events().filter((e) => e.trackId === first.trackId);
  for (const e of located) {
    assert.deepEqual(e.frameSize, [640, 360]);
    // A frame shows the scene as it was when the publisher drew it, up to ~1.5 s before it was
    // read under load (encode, RTP, decode): take the best match over that window.
    let best = 0;
    for (let back = 0; back <= 1500; back += 50) {
      const truth = rtsp.placement(e.frameTime - back);
      if (truth) best = Math.max(best, iou(e.box, truth));
    }
    assert.ok(best >= 0.5, `event box ${e.box} should be within IoU 0.5 of the photo (best ${best.toFixed(2)})`);
  }

  const stats = await waitFor('stats with processed frames', 20_000, () =>
    seen.filter((m) => m.topic === `${prefix}/${deviceId}/stats`).map((m) => parsePayload('stats', m.payload)).find((p) => p.cameras.door?.framesProcessed > 0),
  );
  assert.ok(stats.cameras.door.fpsIn > 0, 'stats report frames in');
  assert.ok(stats.inference.ms && stats.inference.ms.p50 > 0, 'stats report inference time');
  const st = await waitFor('state with the camera streaming', 20_000, () =>
    seen.filter((m) => m.topic === `${prefix}/${deviceId}/state`).map((m) => parsePayload('state', m.payload)).find((p) => p.cameras.door?.state === 'streaming'),
  );
  assert.equal(st.model?.provider, 'cpu');
  assert.equal(st.model?.name, 'nanodet-416');

  // A clean stop ends every open track, then says offline.
  const exited = new Promise<number | null>((r) => agent.once('exit', (code) => r(code)));
  agent.kill('SIGTERM');
  assert.equal(await exited, 0);
  await waitFor('the end event', 10_000, () => events().find((e) => e.type === 'end' && e.trackId === first.trackId));
  await waitFor('status offline', 10_000, () => [...seen].reverse().find((m) => m.topic === `${prefix}/${deviceId}/status`)?.payload === 'offline' || undefined);
  const life = events().filter((e) => e.trackId === first.trackId);
  assert.equal(life[0].type, 'new');
  assert.equal(life.at(-1)!.type, 'end');
  assert.equal(life.at(-1)!.reason, 'stopped');
  await client.endAsync();
});

test('killing the agent makes the broker publish its last will: offline', { timeout: 90_000 }, async () => {
  broker ??= await startBroker();
  const prefix = uniquePrefix('lwt');
  const configPath = join(dir, 'lwt.yaml');
  writeFileSync(configPath, [`device: { id: lwt-1 }`, `mqtt: { url: "${broker.url}", prefix: ${prefix} }`, `stateDir: "${join(dir, 'state-lwt')}"`, 'http: { enabled: false }', 'model: { threads: 1 }', 'cameras:', '  - name: demo', '    source: { type: demo }', '    fps: 2'].join('\n'));
  const statuses: string[] = [];
  const client = await mqtt.connectAsync(broker.url, { clientId: `${prefix}-watch` });
  client.on('message', (topic, payload) => topic.endsWith('/status') && statuses.push(payload.toString()));
  await client.subscribeAsync(`${prefix}/lwt-1/status`, { qos: 1 });
  const agent = startAgent(configPath);
  await waitFor('online', 60_000, () => (statuses.at(-1) === 'online' ? true : undefined));
  agent.kill('SIGKILL');
  await waitFor('offline from the will', 15_000, () => (statuses.at(-1) === 'offline' ? true : undefined));
  await client.endAsync();
});

// Clips from a real agent: rtsp-server-perl serving H.264 of a person crossing the picture, the
// bundled NanoDet on ONNX Runtime, a real broker. The person's `end` goes out at once; some
// seconds later its clip is announced on <camera>/clip (typed, QoS 1), served over HTTP, covers
// the person's time with the margins, and is copied H.264; /metrics counts it; a stop ends the
// recorder's ffmpeg.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import mqtt from 'mqtt';
import { checkConfig } from '@kestrel/config';
import { createLogger, parsePayload, type Clip, type DetectionEvent } from '@kestrel/core';
import { Agent } from '@kestrel/agent';
import { startBroker, type BrokerHandle } from '../support/broker.js';
import { startRtspServer, type RtspTestServer } from '../support/rtsp.js';
import { freePort, uniquePrefix } from '../support/ports.js';
import { metric, waitFor } from './support/agent-process.js';

const run = promisify(execFile);
const dir = mkdtempSync(join(tmpdir(), 'kestrel-clips-agent-'));
let rtsp: RtspTestServer | undefined;
let broker: BrokerHandle | undefined;
let agent: Agent | undefined;
let client: mqtt.MqttClient | undefined;
after(async () => {
  await agent?.stop();
  await client?.endAsync(true);
  await Promise.allSettled([rtsp?.stop(), broker?.stop()]);
  rmSync(dir, { recursive: true, force: true });
});

test('a person\'s clip: announced on <camera>/clip after its end, served over HTTP, covering its time with the margins', { timeout: 90_000 }, async () => {
  // The person crosses in 4 s, then the picture is empty for 6 s: its track ends each time.
  [rtsp, broker] = await Promise.all([startRtspServer({ photo: 'astronaut', scene: { motion: { kind: 'cross', crossSeconds: 4, gapSeconds: 6 } } }), startBroker()]);
  const prefix = uniquePrefix('clips');
  const deviceId = 'clip-1';
  const port = await freePort();
  const r = checkConfig({
    text: [
      `device: { id: ${deviceId} }`,
      `mqtt: { url: "${broker.url}", prefix: ${prefix} }`,
      `stateDir: "${join(dir, 'state')}"`,
      `http: { enabled: true, bind: "127.0.0.1:${port}" }`,
      'model: { threads: 1 }',
      'cameras:',
      '  - name: door',
      `    source: { type: rtsp, url: "${rtsp.url}", transport: udp }`,
      '    fps: 5',
      '    filters: { classes: [person], minScore: 0.4 }',
      '    tracker: { minHits: 2, lostSeconds: 1 }',
      '    snapshots: { enabled: false }',
      '    clips: { enabled: true, preSeconds: 2, postSeconds: 2, segmentSeconds: 1 }',
    ].join('\n'),
  });
  assert.ok(r.ok, JSON.stringify(!r.ok && r.errors));
  agent = new Agent(r.config, { logger: createLogger('clips-agent', { level: 'error' }), brokerConfigured: true, env: {} });

  client = await mqtt.connectAsync(broker.url, { clientId: `${prefix}-watch`, reconnectPeriod: 0 });
  const events: DetectionEvent[] = [];
  const clips: Array<{ clip: Clip; at: number; qos: number; retain: boolean }> = [];
  client.on('message', (topic, payload, packet) => {
    if (topic.endsWith('/events')) events.push(parsePayload('events', payload));
    if (topic === `${prefix}/${deviceId}/door/clip`) clips.push({ clip: parsePayload('clip', payload), at: Date.now(), qos: packet.qos, retain: packet.retain });
  });
  await client.subscribeAsync(`${prefix}/${deviceId}/#`, { qos: 1 });
  await agent.start();

  const clip = await waitFor('a clip on MQTT', 60_000, () => clips[0]);
  const end = events.find((e) => e.type === 'end' && e.trackId === clip.clip.trackId);
  assert.ok(end, 'the clip is of an object whose end was published');
  assert.equal(clip.qos, 1);
  assert.equal(clip.retain, false);
  assert.equal(clip.clip.id, `${end.trackId}:clip`);
  assert.equal(clip.clip.label, 'person');
  assert.equal(clip.clip.deviceId, deviceId);
  // The end went out first; the clip waited for the post window.
  assert.ok(clip.at >= end.lastSeen + 2000, 'announced after the post window');
  // 2 s margins, exact to about a segment (1 s) and the RTSP path's latency, which a loaded
  // machine stretches (802 ms of pre-roll seen once with the whole suite running): at least half a
  // second each side.
  assert.ok(clip.clip.start <= end.firstSeen - 500, `starts before the person (${end.firstSeen - clip.clip.start} ms)`);
  assert.ok(clip.clip.end >= end.lastSeen + 500, `ends after the person (${clip.clip.end - end.lastSeen} ms)`);

  const res = await fetch(`http://127.0.0.1:${port}${clip.clip.path}`);
  assert.equal(res.status, 200);
  assert.equal(res.headers.get('content-type'), 'video/mp4');
  const body = Buffer.from(await res.arrayBuffer());
  assert.equal(body.length, clip.clip.bytes);
  const file = join(dir, 'got.mp4');
  writeFileSync(file, body);
  const { stdout } = await run('ffprobe', ['-v', 'error', '-select_streams', 'v:0', '-show_entries', 'stream=codec_name,width,height:format=duration', '-of', 'json', file]);
  const probed = JSON.parse(stdout) as { streams: Array<{ codec_name: string; width: number; height: number }>; format: { duration: string } };
  assert.deepEqual([probed.streams[0]!.codec_name, probed.streams[0]!.width, probed.streams[0]!.height], ['h264', 640, 360], 'the camera\'s own stream');
  const wanted = (end.lastSeen - end.firstSeen) / 1000 + 4;
  const duration = Number(probed.format.duration);
  assert.ok(Math.abs(duration - clip.clip.durationS) < 0.15, `the file lasts what the notice says (${duration} vs ${clip.clip.durationS})`);
  assert.ok(duration >= wanted - 1.5 && duration <= wanted + 1.5, `clip ${duration}s, person ${(end.lastSeen - end.firstSeen) / 1000}s + 4s margins`);

  const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  assert.ok((metric(metrics, 'kestrel_clips_total', { camera: 'door', result: 'made' }) ?? 0) >= 1, 'made clips are counted');
  assert.ok((metric(metrics, 'kestrel_clip_bytes_total', { camera: 'door' }) ?? 0) >= clip.clip.bytes);
  assert.notEqual(metric(metrics, 'kestrel_clip_segments_deleted_total', { camera: 'door' }), undefined);
  assert.equal(metric(metrics, 'kestrel_clips_total', { camera: 'door', result: 'failed' }), 0);

  await agent.stop();
  agent = undefined;
});

// Motion gating inside a running agent (in this process): a still camera (a file looped in real
// time: a person standing in a room) through CameraSet's gate, the real scheduler, worker and
// MQTT. Skipped frames show in /metrics and the stats, motion boxes in the stats and the
// detections payload, and the standing person is still reported.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkConfig } from '@kestrel/config';
import { createLogger, parsePayload, type FrameDetections, type Stats } from '@kestrel/core';
import { Agent } from '@kestrel/agent';
import { makeClip } from '@kestrel/agent/bench/motion/clips';
import { resolveFfmpeg } from '@kestrel/agent/source/ffmpeg-binary';
import { startBroker, type BrokerHandle } from '../support/broker.js';
import { freePort, uniquePrefix } from '../support/ports.js';
import { Recorder, httpGet, metric, waitFor } from './support/agent-process.js';

const dir = mkdtempSync(join(tmpdir(), 'kestrel-motion-agent-'));
let agent: Agent | undefined;
let broker: BrokerHandle | undefined;
let recorder: Recorder | undefined;
after(async () => {
  await agent?.stop();
  await recorder?.close();
  await broker?.stop();
  rmSync(dir, { recursive: true, force: true });
});

test('a still camera: most frames skipped (metrics, stats), motion boxes reported, the standing person still has its event', { timeout: 120_000 }, async () => {
  const clip = await makeClip('static', dir, { fps: 5, seconds: 12, ffmpegPath: resolveFfmpeg().path });
  broker = await startBroker();
  const prefix = uniquePrefix('motion');
  const port = await freePort();
  recorder = new Recorder(broker.url, prefix);
  await recorder.connect();
  const checked = checkConfig({
    text: [
      'device: { id: still }',
      `mqtt: { url: "${broker.url}", prefix: ${prefix}, statsIntervalSeconds: 1, publishDetections: true }`,
      `stateDir: "${join(dir, 'state')}"`,
      `http: { enabled: true, bind: "127.0.0.1:${port}" }`,
      'model: { threads: 1 }',
      'cameras:',
      '  - name: hall',
      `    source: { type: file, path: "${clip.path}", loop: true, realtime: true }`,
      '    fps: 5',
      '    motion: { recheckSeconds: 2 }',
    ].join('\n'),
  });
  assert.ok(checked.ok, JSON.stringify(checked.errors));
  agent = new Agent(checked.config, { logger: createLogger('motion', { level: 'error' }), brokerConfigured: true, env: {} });
  await agent.start();

  const stats = () => recorder!.messages.filter((m) => m.topic === `${prefix}/still/stats`).map((m) => parsePayload('stats', m.payload) as Stats);
  const hall = await waitFor('stats with 20 skipped frames', 90_000, () => stats().map((s) => s.cameras.hall).find((c) => (c?.framesSkipped ?? 0) >= 20), 200);
  assert.ok(hall.framesProcessed < hall.framesIn / 2, `processed ${hall.framesProcessed} of ${hall.framesIn}`);
  assert.equal(typeof hall.motionBoxes, 'number');

  const text = (await httpGet(port, '/metrics')).body;
  assert.ok(metric(text, 'kestrel_frames_skipped_total', { camera: 'hall', reason: 'no_motion' })! >= 20, 'skipped frames in /metrics');

  const news = recorder.events('still', 'hall').filter((e) => e.type === 'new');
  assert.ok(news.some((e) => e.label === 'person'), `the standing person is reported: ${JSON.stringify(news.map((e) => e.label))}`);
  const detections = recorder.messages.filter((m) => m.topic === `${prefix}/still/hall/detections`).map((m) => parsePayload('detections', m.payload) as FrameDetections);
  assert.ok(detections.length > 0);
  assert.ok(detections.every((d) => Array.isArray(d.motion)), 'each detections payload carries the frame\'s motion boxes');
  // Rechecks keep the stationary track: one `new` for the one person, no churn.
  assert.equal(news.filter((e) => e.label === 'person').length, 1);
});

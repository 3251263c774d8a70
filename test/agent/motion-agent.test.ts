// Motion gating inside a running agent (in this process): a still camera (a file looped in real
// time: a person standing in a room) through CameraSet's gate, the real scheduler, worker and
// MQTT. Skipped frames show in /metrics and the stats, motion boxes in the stats and the
// detections payload, and the standing person is still reported. Motion sees the masked frame.
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
const agents: Agent[] = [];
const recorders: Recorder[] = [];
let broker: BrokerHandle | undefined;
after(async () => {
  await Promise.all(agents.map((a) => a.stop()));
  await Promise.all(recorders.map((r) => r.close()));
  await broker?.stop();
  rmSync(dir, { recursive: true, force: true });
});

/** An agent with one camera `hall` on a looped clip, extra camera lines appended; returns its /metrics port and MQTT prefix. */
async function startAgent(id: string, clipPath: string, cameraLines: string[]): Promise<{ port: number; prefix: string }> {
  broker ??= await startBroker();
  const prefix = uniquePrefix('motion');
  const port = await freePort();
  const rec = new Recorder(broker.url, prefix);
  recorders.push(rec);
  await rec.connect();
  const checked = checkConfig({
    text: [
      `device: { id: ${id} }`,
      `mqtt: { url: "${broker.url}", prefix: ${prefix}, statsIntervalSeconds: 1, publishDetections: true }`,
      `stateDir: "${join(dir, `state-${id}`)}"`,
      `http: { enabled: true, bind: "127.0.0.1:${port}" }`,
      'model: { threads: 1 }',
      'cameras:',
      '  - name: hall',
      `    source: { type: file, path: "${clipPath}", loop: true, realtime: true }`,
      '    fps: 5',
      ...cameraLines,
    ].join('\n'),
  });
  assert.ok(checked.ok, JSON.stringify(checked.errors));
  const agent = new Agent(checked.config, { logger: createLogger(id, { level: 'error' }), brokerConfigured: true, env: {} });
  agents.push(agent);
  await agent.start();
  return { port, prefix };
}

const statsOf = (rec: Recorder, prefix: string, id: string) => rec.messages.filter((m) => m.topic === `${prefix}/${id}/stats`).map((m) => parsePayload('stats', m.payload) as Stats);

test('a still camera: most frames skipped (metrics, stats), motion boxes reported, the standing person still has its event', { timeout: 120_000 }, async () => {
  const clip = await makeClip('static', dir, { fps: 5, seconds: 12, ffmpegPath: resolveFfmpeg().path });
  const { port, prefix } = await startAgent('still', clip.path, ['    motion: { recheckSeconds: 2 }']);
  const recorder = recorders.at(-1)!;
  const hall = await waitFor('stats with 20 skipped frames', 90_000, () => statsOf(recorder, prefix, 'still').map((s) => s.cameras.hall).find((c) => (c?.framesSkipped ?? 0) >= 20), 200);
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

test('motion is computed on the masked frame: people walking under a privacy mask over the whole picture are no motion', { timeout: 120_000 }, async () => {
  const clip = await makeClip('entering', dir, { fps: 5, seconds: 26, ffmpegPath: resolveFfmpeg().path });
  const { prefix } = await startAgent('masked', clip.path, ['    privacy: { masks: [{ polygon: [[0, 0], [1280, 0], [1280, 720], [0, 720]] }] }']);
  const recorder = recorders.at(-1)!;
  // From 3 s on someone walks across: without the mask every one of those frames would be motion.
  const hall = await waitFor('stats after 40 frames', 90_000, () => statsOf(recorder, prefix, 'masked').map((s) => s.cameras.hall).find((c) => (c?.framesIn ?? 0) >= 40), 200);
  assert.ok(hall.framesSkipped! >= hall.framesIn - 12, `skipped ${hall.framesSkipped} of ${hall.framesIn}: only the first frame and the rechecks go to inference`);
  assert.equal(hall.motionBoxes, 0);
  assert.deepEqual(recorder.events('masked', 'hall'), [], 'the model saw nothing either');
});

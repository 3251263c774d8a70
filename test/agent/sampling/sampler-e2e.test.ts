// The sampler with real parts: frames from the demo camera (a real ffmpeg process), detections
// from the bundled NanoDet on ONNX Runtime, a real hub process. Uncertain frames are kept within
// the quota, uploaded, and appear in a YOLO export whose pre-labels are the detections the
// model gave for exactly those frames.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { parse } from 'yaml';
import { BUNDLED_MODEL_PATH, Detector, rgbToTensor, type Detection } from '@kestrel/core';
import { createSource } from '@kestrel/agent/source/create';
import type { Frame, FrameSource } from '@kestrel/agent/source/types';
import { Sampler } from '@kestrel/agent/sampling/index';
import { runKestrel } from '../../support/cli.js';
import { startHub, type HubProcess } from '../../deploy/support/hub-process.js';
import { quietLogger, samplingConfig } from './support/frames.js';

let hub: HubProcess | undefined;
let source: FrameSource | undefined;
let detector: Detector | undefined;
const work = mkdtempSync(join(tmpdir(), 'kestrel-sampler-e2e-'));
after(async () => {
  await source?.stop();
  await detector?.close();
  await hub?.stop();
  rmSync(work, { recursive: true, force: true });
});

const MIN_SCORE = 0.35;

test('uncertain demo-camera frames are kept under the quota, reach the hub, and export with the model\'s detections as labels', { timeout: 120_000 }, async () => {
  hub = await startHub();
  const token = await hub.token('pi-demo');
  detector = await Detector.load(BUNDLED_MODEL_PATH, { threads: 1 });
  const config = samplingConfig({
    quota: {},
    dedup: { maxDistance: 2 },
    strategies: { uncertainty: { low: 0.3, high: 0.6, quota: { perMinute: 3 } } },
    upload: { transport: 'http', url: hub.url, token, idleSeconds: 0.2, backoff: { minMs: 100, maxMs: 1000 } },
  });
  const sampler = new Sampler({ config, deviceId: 'pi-demo', mqttPrefix: 'kestrel', logger: quietLogger });
  await sampler.start();

  // What the model said about every frame, by capture time (the sample keeps the capture time).
  const seen = new Map<number, { detections: Detection[]; frame: Frame }>();
  source = createSource({ camera: 'demo', source: { type: 'demo' }, output: { width: 416, height: 416, fps: 2 } });
  let busy = false;
  source.on('frame', (frame) => {
    if (busy || !detector) return; // latest frame wins, as in the agent
    busy = true;
    void detector
      .detectTensor(rgbToTensor(frame.data, detector.meta.input), frame.geometry, { scoreThreshold: 0.1 })
      .then(({ detections }) => {
        seen.set(frame.capturedAt, { detections, frame });
        sampler.consider(frame, detections, detector!.meta.version ?? '0');
      })
      .finally(() => (busy = false));
  });
  await source.start();
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline && !(sampler.stats().kept >= 3 && sampler.stats().strategies.uncertainty.fired >= 8)) await new Promise((r) => setTimeout(r, 200));
  await source.stop();
  await new Promise((r) => setTimeout(r, 500));
  await sampler.flush();

  const s = sampler.stats();
  process.stderr.write(`demo: considered ${s.considered}, uncertainty fired ${s.strategies.uncertainty.fired}, kept ${s.kept}, over quota ${s.strategies.uncertainty.droppedQuota}, duplicates ${s.dropped.duplicate}\n`);
  assert.equal(s.kept, 3, 'the per-minute quota of 3 holds');
  assert.ok(s.strategies.uncertainty.fired > s.kept, 'more frames were uncertain than the quota let through');
  const deadlineUpload = Date.now() + 30_000;
  while (sampler.stats().backlog > 0 && Date.now() < deadlineUpload) await new Promise((r) => setTimeout(r, 200));
  assert.equal(sampler.stats().backlog, 0, 'everything uploaded');
  await sampler.stop();

  const out = join(work, 'export');
  const res = await runKestrel(['hub', 'export', '--format', 'yolo', '-o', out, '--config', hub.configPath, '--min-score', String(MIN_SCORE)]);
  assert.equal(res.code, 0, res.stderr);
  const names = Object.values(parse(readFileSync(join(out, 'data.yaml'), 'utf8')).names as Record<string, string>);
  const manifest = JSON.parse(readFileSync(join(out, 'kestrel-export.json'), 'utf8')) as { items: { file: string; capturedAt: number; reasons: string[] }[] };
  assert.equal(manifest.items.length, 3);
  assert.equal(readdirSync(join(out, 'images')).length, 3);
  for (const item of manifest.items) {
    assert.deepEqual(item.reasons, ['uncertainty']);
    const original = seen.get(item.capturedAt);
    assert.ok(original, `a frame captured at ${item.capturedAt} was sampled`);
    const g = original.frame.geometry;
    assert.ok(original.detections.some((d) => d.score >= 0.3 && d.score <= 0.6), 'the frame really had an uncertain detection');

    // Labels: the model's detections for that frame (score ≥ MIN_SCORE), normalised to the picture.
    const expected = original.detections
      .filter((d) => Math.round(d.score * 1000) / 1000 >= MIN_SCORE)
      .map((d) => [d.label, (d.box[0] + d.box[2]) / 2 / g.srcWidth, (d.box[1] + d.box[3]) / 2 / g.srcHeight, (d.box[2] - d.box[0]) / g.srcWidth, (d.box[3] - d.box[1]) / g.srcHeight] as const)
      .sort();
    const labels = readFileSync(join(out, 'labels', item.file.replace(/\.jpg$/, '.txt')), 'utf8').trim().split('\n').filter(Boolean).map((line) => {
      const [cls, ...v] = line.split(' ').map(Number);
      return [names[cls], ...v] as const;
    }).sort();
    assert.equal(labels.length, expected.length, `${item.file}: ${JSON.stringify(labels)} vs ${JSON.stringify(expected)}`);
    labels.forEach((l, i) => {
      assert.equal(l[0], expected[i][0]);
      for (let k = 1; k < 5; k++) assert.ok(Math.abs((l[k] as number) - (expected[i][k] as number)) < 2e-4, `${item.file} ${l.join(' ')} vs ${expected[i].join(' ')}`);
    });

    // The picture: the letterboxed frame without its padding, at model-input resolution.
    const jpeg = readFileSync(join(out, 'images', item.file));
    const { data, info } = await sharp(jpeg).raw().toBuffer({ resolveWithObject: true });
    assert.deepEqual([info.width, info.height], [g.scaledWidth, g.scaledHeight]);
    let diff = 0;
    for (let y = 0; y < info.height; y++) {
      for (let x = 0; x < info.width * 3; x++) diff += Math.abs(data[y * info.width * 3 + x] - original.frame.data[((y + g.padY) * 416 + g.padX) * 3 + x]);
    }
    const meanDiff = diff / data.length;
    assert.ok(meanDiff < 6, `JPEG differs from the frame by ${meanDiff.toFixed(2)} per channel on average`);
  }
});

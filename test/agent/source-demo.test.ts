// The demo camera: a real-time 1280×720 scene made by ffmpeg in which the astronaut photo walks
// across a room, exactly where demoPlacement() says.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Box } from '@kestrel/core/image/letterbox';
import { createSource } from '@kestrel/agent/source/create';
import { DEMO_SCENE, demoPlacement } from '@kestrel/agent/source/demo';
import type { Frame, FrameSource } from '@kestrel/agent/source/types';
import { checkPlacement, processGone, waitForStatus } from './support/sources.js';

const sources: FrameSource[] = [];
after(() => Promise.all(sources.map((s) => s.stop())));

/** The window drawn on the demo room's wall, in source columns (see scene.ts). */
const WINDOW: [number, number] = [794, 1076];
/** Source pixels the person may move between being drawn and the frame being cut. */
const SPEED_PX_PER_MS = (DEMO_SCENE.width + DEMO_SCENE.photoWidth) / 12_000;
const MARGIN = Math.ceil(SPEED_PX_PER_MS * 150) + 6;

function fullyVisible(box: Box | null): box is Box {
  return box !== null && box[0] > MARGIN + 100 && box[2] < DEMO_SCENE.width - MARGIN - 100 && box[2] - box[0] === DEMO_SCENE.photoWidth;
}

/** Ms until the person is in full view (with room for the motion margin) for at least `forMs`. */
function msUntilFullyVisible(now: number, forMs: number): number {
  for (let dt = 0; dt < 20_000; dt += 50) {
    let ok = true;
    for (let k = 0; k <= forMs && ok; k += 100) ok = fullyVisible(demoPlacement(now + dt + k));
    if (ok) return dt;
  }
  throw new Error('the demo person is never in full view that long');
}

test('the demo camera streams a real-time 1280×720 scene with the person where demoPlacement says', async () => {
  const source = createSource({ camera: 'demo', source: { type: 'demo' }, output: { width: 416, height: 416, fps: 5 } });
  sources.push(source);
  const checked: Array<{ frame: Frame; inside: number; outside: number; latencyMs: number }> = [];
  let checkFrom = Infinity;
  source.on('frame', (frame) => {
    if (frame.capturedAt < checkFrom || !fullyVisible(demoPlacement(frame.capturedAt))) return;
    // The frame shows the scene at some instant shortly before it was cut from the pipe (tens of
    // ms; more on a loaded machine): the best fit within 0.5 s must match demoPlacement.
    let best: { inside: number; outside: number; latencyMs: number } | undefined;
    for (let latencyMs = 0; latencyMs <= 500; latencyMs += 20) {
      const box = demoPlacement(frame.capturedAt - latencyMs);
      if (!fullyVisible(box)) continue;
      const c = checkPlacement(frame, box, MARGIN, [WINDOW]);
      if (!best || c.insideDiffers - c.outsideDiffers > best.inside - best.outside) best = { inside: c.insideDiffers, outside: c.outsideDiffers, latencyMs };
    }
    if (best) checked.push({ frame, ...best });
  });
  await source.start();
  const streaming = await waitForStatus(source, (s) => s.state === 'streaming', 10_000, 'streaming');
  assert.equal(streaming.sourceWidth, 1280);
  assert.equal(streaming.sourceHeight, 720);

  // Let the start-up settle, then wait (at most one pass of 15 s) for the person to be in full view.
  checkFrom = Date.now() + 1000 + msUntilFullyVisible(Date.now() + 1000, 2500);
  await new Promise((r) => setTimeout(r, checkFrom - Date.now()));
  const startedAt = Date.now();
  while (checked.length < 6 && Date.now() - startedAt < 8000) await new Promise((r) => setTimeout(r, 100));
  const status = source.status();
  assert.ok(checked.length >= 6, `frames with the person in full view: ${checked.length}`);
  for (const { frame, inside, outside } of checked) {
    assert.ok(inside > 0.8, `frame ${frame.seq}: only ${(inside * 100).toFixed(0)}% of the placed box differs from the room`);
    assert.ok(outside < 0.02, `frame ${frame.seq}: ${(outside * 100).toFixed(1)}% of the room beside the box differs (person elsewhere?)`);
  }
  const first = checked[0].frame;
  assert.equal(first.data.length, 416 * 416 * 3);
  assert.equal(first.geometry.padY, 90, '1280×720 in 416×416: 234 rows of picture, 90 of padding above');
  const latencies = checked.map((c) => c.latencyMs).sort((a, b) => a - b);
  console.log(`demo: ${checked.length} frames checked; box content differs from the room in ≥ ${(Math.min(...checked.map((c) => c.inside)) * 100).toFixed(0)}%, beside it in ≤ ${(Math.max(...checked.map((c) => c.outside)) * 100).toFixed(1)}%; scene-to-pipe latency median ${latencies[latencies.length >> 1]} ms`);
  const pid = status.pid!;
  await source.stop();
  assert.ok(processGone(pid), 'stop() leaves no ffmpeg behind');
});

test('the demo runs in real time at its own frame rate when uncapped', async () => {
  const source = createSource({ camera: 'demo-rate', source: { type: 'demo' }, output: { width: 320, height: 320 } });
  sources.push(source);
  let frames = 0;
  source.on('frame', () => frames++);
  await source.start();
  const first = await waitForStatus(source, (s) => s.state === 'streaming', 10_000, 'streaming');
  await new Promise((r) => setTimeout(r, 4000));
  const seconds = (Date.now() - first.lastFrameAt!) / 1000;
  await source.stop();
  // Counted over the whole run: a loaded machine may delay frames, but ffmpeg's realtime pacing
  // decides how many are made (neither faster than real time nor dropping behind).
  const expected = DEMO_SCENE.fps * seconds;
  assert.ok(Math.abs(frames - expected) <= 6, `${frames} frames in ${seconds.toFixed(1)} s, expected ≈ ${expected.toFixed(0)} (${DEMO_SCENE.fps} fps)`);
});

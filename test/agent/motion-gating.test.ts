// Motion-gated detection on real video, measured as `kestrel bench motion` does: clips made by
// ffmpeg (the demo room and its photographed person, H.264, sensor-like noise), every frame
// through a CameraRuntime with gating off and on, the bundled detector on CPU. Counts only:
// inference calls and `new` events (the CPU times are the bench's to print, not a test's).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BUNDLED_MODEL_PATH, Detector } from '@kestrel/core';
import { makeClip } from '@kestrel/agent/bench/motion/clips';
import { compareNews, measureGating, runMotionBench } from '@kestrel/agent/bench/motion/run';
import { resolveFfmpeg } from '@kestrel/agent/source/ffmpeg-binary';

let dir: string;
let detector: Detector;
const ffmpegPath = resolveFfmpeg().path;
before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'kestrel-motion-'));
  detector = await Detector.load(BUNDLED_MODEL_PATH, { providers: ['cpu'], threads: 1 });
});
after(async () => {
  await detector?.close();
  rmSync(dir, { recursive: true, force: true });
});

test('on a still camera gating leaves under 30% of the inference calls, and the standing person is still reported', async () => {
  const clip = await makeClip('static', dir, { fps: 5, seconds: 26, ffmpegPath });
  const r = await measureGating({ clip, detector, stateDir: join(dir, 'static') });
  assert.equal(r.off.inferences, r.frames, 'without gating every frame is inferred');
  assert.ok(r.frames >= 125, `frames ${r.frames}`);
  // The first sightings until the track is stationary (2 s), then one recheck every 5 s.
  assert.ok(r.inferenceRatio <= 0.3, `inferences ${r.on.inferences} of ${r.off.inferences}`);
  assert.ok(r.on.inferences >= 10 + 4, `still rechecked: ${r.on.inferences}`);
  assert.deepEqual(r.on.news.map((n) => n.label), r.off.news.map((n) => n.label));
  assert.ok(r.off.news.some((n) => n.label === 'person'), JSON.stringify(r.off.news));
  assert.equal(r.newsLost, 0);
});

test('where people enter, no `new` event is lost or later than one frame with gating', async () => {
  const clip = await makeClip('entering', dir, { fps: 5, seconds: 26, ffmpegPath });
  const r = await measureGating({ clip, detector, stateDir: join(dir, 'entering') });
  const people = r.off.news.filter((n) => n.label === 'person');
  assert.ok(people.length >= 2, `both arrivals are seen without gating: ${JSON.stringify(r.off.news)}`);
  assert.equal(r.newsLost, 0, `off ${JSON.stringify(r.off.news)} on ${JSON.stringify(r.on.news)}`);
  assert.ok(r.newsMaxDelayMs <= r.intervalMs, `a new came ${r.newsMaxDelayMs} ms late`);
  assert.equal(r.on.news.length, r.off.news.length, 'and none more');
  // The empty room before the first arrival and the standing second person are skipped.
  assert.ok(r.on.inferences < r.off.inferences, `${r.on.inferences} of ${r.off.inferences}`);
});

test('compareNews pairs arrivals by label in time order', () => {
  const at = (label: string, frameTime: number) => ({ label, frameTime });
  assert.deepEqual(compareNews([at('person', 1000), at('person', 5000)], [at('person', 1200), at('person', 5000)]), { lost: 0, maxDelayMs: 200 });
  assert.deepEqual(compareNews([at('person', 1000), at('car', 2000)], [at('person', 1000)]), { lost: 1, maxDelayMs: 0 });
  assert.deepEqual(compareNews([], []), { lost: 0, maxDelayMs: 0 });
});

test('kestrel bench motion refuses bad flags, naming them', async () => {
  const flags = { seconds: '40', fps: '5', threads: '1' };
  await assert.rejects(runMotionBench({ ...flags, seconds: '10' }), { code: 'E_USAGE', message: /--seconds/ });
  await assert.rejects(runMotionBench({ ...flags, fps: '0' }), { code: 'E_USAGE', message: /--fps/ });
  await assert.rejects(runMotionBench({ ...flags, threads: 'two' }), { code: 'E_USAGE', message: /--threads/ });
});

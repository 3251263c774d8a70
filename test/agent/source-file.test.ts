// File sources through real ffmpeg: exact frame size, frame count at the fps cap, letterbox
// padding exactly where letterboxGeometry() says, end of file, missing files and missing ffmpeg.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { letterboxGeometry } from '@kestrel/core/image/letterbox';
import { createSource } from '@kestrel/agent/source/create';
import type { FrameSource } from '@kestrel/agent/source/types';
import { collectFrames, processGone, waitForStatus } from './support/sources.js';

let dir: string;
const sources: FrameSource[] = [];
const track = (s: FrameSource) => (sources.push(s), s);

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'kestrel-file-source-'));
});
after(async () => {
  await Promise.all(sources.map((s) => s.stop()));
  rmSync(dir, { recursive: true, force: true });
});

/** H.264 like a camera's; `lossless` keeps odd sizes (H.264 in yuv420p rounds them to even). */
function makeClip(name: string, lavfi: string, seconds: number, lossless = false): string {
  const path = join(dir, name);
  const codec = lossless ? ['-c:v', 'ffv1', '-pix_fmt', 'yuv444p'] : ['-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p'];
  execFileSync('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-f', 'lavfi', '-i', lavfi, '-t', String(seconds), ...codec, '-y', path]);
  return path;
}

test('a 3 s clip at a 10 fps cap gives about 30 frames of exactly the model size, in real time, then ends', async () => {
  const clip = makeClip('testsrc.mp4', 'testsrc2=s=640x360:r=20', 3);
  const source = track(createSource({ camera: 'file', source: { type: 'file', path: clip }, output: { width: 416, height: 416, fps: 10 } }));
  const frames = collectFrames(source);
  const states: string[] = [];
  source.on('state', (s) => states.push(s.state));
  await source.start();
  const end = await waitForStatus(source, (s) => s.state === 'stopped', 15_000, 'the end of the file');

  assert.equal(end.stopReason, 'ended');
  assert.deepEqual(states, ['connecting', 'streaming', 'stopped']);
  assert.ok(frames.length >= 28 && frames.length <= 32, `≈ 10 fps × 3 s, got ${frames.length}`);
  const span = frames.at(-1)!.capturedAt - frames[0].capturedAt;
  assert.ok(span > 2500, `read in real time: frames span ${span} ms`);
  const g = letterboxGeometry(640, 360, 416, 416);
  frames.forEach((f, i) => {
    assert.equal(f.seq, i);
    assert.equal(f.data.length, 416 * 416 * 3);
    assert.equal(f.width, 416);
    assert.equal(f.camera, 'file');
    assert.deepEqual(f.geometry, g);
  });
  assert.equal(end.sourceWidth, 640);
  assert.equal(end.counters.framesIn, frames.length);
  assert.equal(end.counters.bytesIn, frames.length * 416 * 416 * 3);
  assert.equal(end.counters.restarts, 0);
  // Padding rows are exactly the pad value (114), the picture rows are not.
  const row = (y: number) => frames[5].data.subarray(y * 416 * 3, (y + 1) * 416 * 3);
  assert.ok(row(0).every((v) => v === 114) && row(g.padY - 1).every((v) => v === 114), 'top padding');
  assert.ok(row(g.padY + g.scaledHeight).every((v) => v === 114) && row(415).every((v) => v === 114), 'bottom padding');
  assert.ok(!row(g.padY + 5).every((v) => v === 114), 'the picture starts at padY');
});

test('the fps cap never invents frames: a 5 fps clip under a 15 fps cap gives 5 fps', async () => {
  const clip = makeClip('slow.mp4', 'testsrc2=s=320x240:r=5', 2);
  const source = track(createSource({ camera: 'slow', source: { type: 'file', path: clip, realtime: false }, output: { width: 160, height: 160, fps: 15 } }));
  const frames = collectFrames(source);
  await source.start();
  await waitForStatus(source, (s) => s.state === 'stopped', 15_000, 'the end of the file');
  assert.equal(frames.length, 10, 'every source frame once, none duplicated');
  const distinct = new Set(frames.map((f) => Buffer.from(f.data).toString('base64')));
  assert.equal(distinct.size, 10, 'no two frames are copies');
});

test('ffmpeg scales and pads exactly as letterboxGeometry() says, for odd sizes and shapes', async () => {
  const cases: Array<{ src: [number, number]; dst: [number, number]; keepAspect?: boolean }> = [
    { src: [333, 500], dst: [416, 320] }, // portrait into landscape: pads left and right
    { src: [1000, 250], dst: [416, 416] }, // very wide
    { src: [1280, 720], dst: [320, 320] },
    { src: [101, 77], dst: [416, 416] }, // upscaled
    { src: [640, 480], dst: [416, 416] },
    { src: [640, 360], dst: [320, 256], keepAspect: false }, // stretched: no padding
  ];
  for (const { src, dst, keepAspect } of cases) {
    const name = `${src.join('x')}-${dst.join('x')}`;
    const clip = makeClip(`${name}.mkv`, `color=c=white:s=${src[0]}x${src[1]}:r=10,format=yuv444p`, 0.5, true);
    const source = track(createSource({ camera: name, source: { type: 'file', path: clip, realtime: false }, output: { width: dst[0], height: dst[1], padValue: 0, keepAspect } }));
    const frames = collectFrames(source);
    await source.start();
    await waitForStatus(source, (s) => s.state === 'stopped', 15_000, `${name} to end`);
    assert.ok(frames.length >= 3, `${name}: frames`);
    const f = frames[1];
    const g = letterboxGeometry(src[0], src[1], dst[0], dst[1], keepAspect ?? true);
    assert.deepEqual(f.geometry, g, name);
    // Every pixel: inside the scaled rectangle it is white (the clip), outside it is the pad (0).
    let wrong = 0;
    for (let y = 0; y < dst[1]; y++) {
      for (let x = 0; x < dst[0]; x++) {
        const inside = x >= g.padX && x < g.padX + g.scaledWidth && y >= g.padY && y < g.padY + g.scaledHeight;
        const v = f.data[(y * dst[0] + x) * 3];
        if (inside ? v < 240 : v !== 0) wrong++;
      }
    }
    assert.equal(wrong, 0, `${name}: ${wrong} pixels disagree with the geometry ${JSON.stringify(g)}`);
  }
});

test('a looping file keeps streaming past its end', async () => {
  const clip = makeClip('loop.mp4', 'testsrc2=s=320x240:r=10', 1);
  const source = track(createSource({ camera: 'loop', source: { type: 'file', path: clip, loop: true }, output: { width: 160, height: 160 } }));
  const frames = collectFrames(source);
  await source.start();
  await waitForStatus(source, (s) => s.counters.framesIn >= 25, 10_000, '2.5 passes of the 10-frame clip');
  await new Promise((r) => setTimeout(r, 150));
  assert.equal(source.status().state, 'streaming');
  assert.ok(frames.length >= 25);
  assert.equal(source.status().counters.restarts, 0, 'looped by ffmpeg, not by restarting it');
  const pid = source.status().pid;
  assert.ok(pid);
  await source.stop();
  assert.equal(source.status().state, 'stopped');
  assert.equal(source.status().stopReason, 'stopped');
  assert.ok(processGone(pid), 'stop() leaves no ffmpeg behind');
});

test('a missing file fails with the reason and keeps retrying; stop() ends the retries', async () => {
  const source = track(createSource({ camera: 'missing', source: { type: 'file', path: join(dir, 'nope.mp4') }, output: { width: 64, height: 64 }, backoff: { minMs: 50, maxMs: 200 } }));
  await source.start();
  const failed = await waitForStatus(source, (s) => s.state === 'failed', 10_000, 'failed');
  assert.match(failed.lastError ?? '', /nope\.mp4: No such file or directory/);
  assert.ok(failed.retryInMs !== undefined && failed.retryInMs <= 200);
  await waitForStatus(source, (s) => s.counters.restarts >= 2, 10_000, 'retries');
  await source.stop();
  const restarts = source.status().counters.restarts;
  await new Promise((r) => setTimeout(r, 400));
  assert.equal(source.status().counters.restarts, restarts, 'no retry after stop');
  assert.equal(source.status().state, 'stopped');
});

test('a missing ffmpeg binary is reported as such, not thrown', async () => {
  const source = track(createSource({ camera: 'noffmpeg', source: { type: 'demo' }, output: { width: 64, height: 64 }, ffmpegPath: join(dir, 'no-ffmpeg-here'), backoff: { minMs: 50, maxMs: 100 } }));
  await source.start();
  const failed = await waitForStatus(source, (s) => s.state === 'failed', 5000, 'failed');
  assert.match(failed.lastError ?? '', /ffmpeg not found at ".*no-ffmpeg-here": install ffmpeg/);
  await source.stop();
});

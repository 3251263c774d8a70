// `npm ci && kestrel agent` needs no system ffmpeg: with none on the PATH the agent runs the one
// the optional npm dependency (@ffmpeg-installer/<platform>) ships, and that binary, an older
// static build, decodes the demo camera and an H.264 file through the agent's own filter chain.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { createSource } from '@kestrel/agent/source/create';
import { bundledFfmpeg, ffmpegVersionLine, resolveFfmpeg } from '@kestrel/agent/source/ffmpeg-binary';
import { ffmpegCapabilities } from '@kestrel/agent/source/ffmpeg-args';
import type { FrameSource } from '@kestrel/agent/source/types';
import { nextFrame, waitForStatus } from './support/sources.js';

const dir = mkdtempSync(join(tmpdir(), 'kestrel-ffmpeg-bundled-'));
const sources: FrameSource[] = [];
after(async () => {
  await Promise.all(sources.map((s) => s.stop()));
  rmSync(dir, { recursive: true, force: true });
});

/** A logger that keeps every line at warn and above, to show the source never complained. */
function problems(): { logger: pino.Logger; lines: string[] } {
  const lines: string[] = [];
  return { lines, logger: pino({ level: 'warn' }, { write: (line: string) => void lines.push(line) }) };
}

test('with no ffmpeg on the PATH the bundled binary is chosen; KESTREL_FFMPEG and the PATH come first', () => {
  const bundled = bundledFfmpeg();
  assert.ok(bundled, 'the optional dependency installed a binary for this platform');
  assert.match(bundled, /node_modules\/@ffmpeg-installer\/[a-z0-9-]+\/ffmpeg(\.exe)?$/);
  assert.deepEqual(resolveFfmpeg({ PATH: '/nonexistent' }), { path: bundled, origin: 'bundled' });
  assert.deepEqual(resolveFfmpeg({ PATH: '/nonexistent', KESTREL_FFMPEG: '/opt/ffmpeg/bin/ffmpeg' }), { path: '/opt/ffmpeg/bin/ffmpeg', origin: 'env' });
  // The system's (this machine has one, as CI installs it) is preferred over the bundled one.
  const system = execFileSync('sh', ['-c', 'command -v ffmpeg'], { encoding: 'utf8' }).trim();
  assert.deepEqual(resolveFfmpeg({ PATH: `/nonexistent:${join(system, '..')}` }), { path: system, origin: 'path' });
});

test('the bundled ffmpeg streams the demo camera at the model size, as letterboxGeometry() predicts', { timeout: 60_000 }, async () => {
  const { path } = resolveFfmpeg({ PATH: '/nonexistent' });
  assert.match((await ffmpegVersionLine(path)) ?? '', /^ffmpeg version /);
  // A git build: its release is read from libavutil, so it gets the options it knows.
  const caps = await ffmpegCapabilities(path);
  assert.ok(caps.major >= 4 && caps.major < 99, `a release number, not "new": ${JSON.stringify(caps)}`);
  const log = problems();
  const source = createSource({ camera: 'demo', source: { type: 'demo' }, output: { width: 416, height: 416, fps: 5 }, ffmpegPath: path, logger: log.logger });
  sources.push(source);
  await source.start();
  const streaming = await waitForStatus(source, (s) => s.state === 'streaming', 20_000, 'streaming');
  assert.equal(streaming.sourceWidth, 1280);
  assert.equal(streaming.sourceHeight, 720);
  const frame = await nextFrame(source, 10_000);
  assert.equal(frame.width, 416);
  assert.equal(frame.data.length, 416 * 416 * 3);
  // 1280×720 letterboxed into 416×416: rows above and below are the pad colour (114), the middle is the scene.
  const px = (x: number, y: number) => frame.data[(y * 416 + x) * 3]!;
  assert.equal(px(208, 10), 114);
  assert.equal(px(208, 405), 114);
  await source.stop();
  assert.deepEqual(log.lines, [], 'no warning or error from the source');
});

test('the bundled ffmpeg decodes an H.264 file to the end', { timeout: 60_000 }, async () => {
  const { path } = resolveFfmpeg({ PATH: '/nonexistent' });
  const clip = join(dir, 'clip.mp4');
  execFileSync(path, ['-hide_banner', '-loglevel', 'error', '-f', 'lavfi', '-i', 'testsrc2=size=320x240:rate=10', '-t', '2', '-c:v', 'libx264', '-pix_fmt', 'yuv420p', '-y', clip]);
  const log = problems();
  const source = createSource({ camera: 'clip', source: { type: 'file', path: clip }, output: { width: 64, height: 64 }, ffmpegPath: path, logger: log.logger });
  sources.push(source);
  let frames = 0;
  source.on('frame', () => frames++);
  await source.start();
  const end = await waitForStatus(source, (s) => s.state === 'stopped', 20_000, 'the end of the file');
  assert.equal(end.stopReason, 'ended');
  assert.ok(frames >= 18 && frames <= 21, `about 20 frames decoded, got ${frames}`);
  assert.deepEqual(log.lines, []);
});

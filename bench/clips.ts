// Benchmark: what a camera's clip recorder costs. The recorder (a second ffmpeg copying the
// stream into ring segments, no decode) against an ffmpeg that only decodes the same stream (the
// least the detection source does before scaling), CPU seconds over the same wall time; then how
// long joining the segments into one MP4 takes for a clip of --clip seconds.
// Usage: node --conditions=kestrel-source --import tsx bench/clips.ts [--seconds 10] [--clip 10] [--size 1280x720] [--fps 25]
import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs, promisify } from 'node:util';
import { fileInput, ffmpegCapabilities } from '@kestrel/agent';
import { buildRecorderArgs, makeClip, SegmentRing } from '@kestrel/agent/clips/index';

const { values } = parseArgs({ options: { seconds: { type: 'string', default: '10' }, clip: { type: 'string', default: '10' }, size: { type: 'string', default: '1280x720' }, fps: { type: 'string', default: '25' } } });
const seconds = Number(values.seconds);
const clipSeconds = Number(values.clip);
const run = promisify(execFile);
const dir = mkdtempSync(join(tmpdir(), 'kestrel-bench-clips-'));
const video = join(dir, 'camera.mp4');
const TICKS = 100; // USER_HZ on Linux

/** utime + stime of a process, seconds (/proc/<pid>/stat fields 14 and 15). */
function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) / TICKS;
}

/** Runs ffmpeg for `seconds` of wall time and returns the CPU seconds it used. */
async function cpuOf(args: string[]): Promise<number> {
  const child = spawn('ffmpeg', args, { stdio: ['ignore', 'ignore', 'inherit'] });
  // Past the start-up (probe, first keyframe), like the warm-up of the other benches.
  await new Promise((r) => setTimeout(r, 1000));
  const before = cpuSeconds(child.pid!);
  await new Promise((r) => setTimeout(r, seconds * 1000));
  const used = cpuSeconds(child.pid!) - before;
  child.kill('SIGTERM');
  await new Promise((r) => child.once('close', r));
  return used;
}

try {
  // A camera-like stream: H.264, a keyframe every 2 s, with fine detail so the bitrate is real.
  await run('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-f', 'lavfi', '-i', `testsrc2=size=${values.size}:rate=${values.fps}`, '-t', '20', '-c:v', 'libx264', '-preset', 'veryfast', '-g', String(2 * Number(values.fps)), '-pix_fmt', 'yuv420p', video]);
  const input = fileInput({ path: video, loop: true, realtime: true });
  const caps = await ffmpegCapabilities('ffmpeg');
  const ring = join(dir, 'ring');
  const segments = new SegmentRing(ring, 2000);
  segments.ensure();
  const recorderArgs = buildRecorderArgs(input, caps, { dir: ring, run: Date.now(), segmentSeconds: 2, listSize: 64 });
  const copyCpu = await cpuOf(recorderArgs);
  const decodeCpu = await cpuOf(['-hide_banner', '-nostdin', '-loglevel', 'error', ...input.args(caps), '-map', '0:v:0', '-f', 'null', '-']);
  console.log(`${values.size} at ${values.fps} fps, ${seconds} s: recorder (copy) ${copyCpu.toFixed(2)} CPU s (${((100 * copyCpu) / seconds).toFixed(1)}% of a core), decode only ${decodeCpu.toFixed(2)} CPU s (${((100 * decodeCpu) / seconds).toFixed(1)}%): copy/decode ${(copyCpu / decodeCpu).toFixed(3)}`);

  const all = segments.list();
  const picked = all.slice(0, Math.max(1, Math.ceil(clipSeconds / 2)));
  const durationS = (picked.at(-1)!.end - picked[0]!.start) / 1000;
  const t0 = performance.now();
  const made = await makeClip({ ffmpegPath: 'ffmpeg', segments: picked, durationS, out: join(dir, 'clip.mp4') });
  const ms = performance.now() - t0;
  console.log(`a ${made.durationS.toFixed(1)} s clip from ${picked.length} segments: ${ms.toFixed(0)} ms, ${(made.bytes / 1e6).toFixed(2)} MB (${((made.bytes * 8) / made.durationS / 1e6).toFixed(2)} Mbit/s)`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}

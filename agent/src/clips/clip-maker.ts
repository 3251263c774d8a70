import { execFile } from 'node:child_process';
import { rename, rm, stat, writeFile } from 'node:fs/promises';
import type { Segment } from './segment-ring.js';
import { readMp4Info } from './mp4-info.js';

export interface MadeClip {
  path: string;
  bytes: number;
  durationS: number;
}

/** A clip's ffmpeg never takes long (it copies); one that hangs is killed. */
const CLIP_TIMEOUT_MS = 60_000;

/**
 * Joins ring segments into one MP4 with ffmpeg's concat demuxer, copying the packets as they are
 * (`-c copy`), `+faststart` (the index first, so a browser plays it before it has all of it).
 * `durationS` caps the output: the last segment runs past the clip's end by up to a segment.
 * Written under a temporary name and renamed, so the HTTP route never serves half a file.
 */
export async function makeClip(options: { ffmpegPath: string; segments: readonly Segment[]; durationS: number; out: string }): Promise<MadeClip> {
  const { ffmpegPath, segments, durationS, out } = options;
  if (segments.length === 0) throw new Error('no ring segment covers the object\'s time');
  const list = `${out}.concat.txt`;
  const partial = `${out}.partial`;
  // The concat demuxer's own quoting: a file name in single quotes, a quote as '\''.
  const lines = ['ffconcat version 1.0', ...segments.map((s) => `file '${s.path.replace(/'/g, "'\\''")}'`)];
  await writeFile(list, `${lines.join('\n')}\n`);
  try {
    await run(ffmpegPath, [
      '-hide_banner', '-nostdin', '-nostats', '-loglevel', 'error', '-y',
      '-f', 'concat', '-safe', '0', '-i', list,
      '-map', '0:v:0', '-c', 'copy', '-t', durationS.toFixed(3),
      '-movflags', '+faststart', '-f', 'mp4', partial,
    ]);
    const info = await readMp4Info(partial);
    await rename(partial, out);
    return { path: out, bytes: (await stat(out)).size, durationS: Math.round(info.durationS * 1000) / 1000 };
  } finally {
    await rm(list, { force: true });
    await rm(partial, { force: true });
  }
}

function run(ffmpegPath: string, args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile(ffmpegPath, args, { timeout: CLIP_TIMEOUT_MS, maxBuffer: 1 << 20 }, (err, _stdout, stderr) => {
      if (!err) return resolve();
      const said = stderr.trim().split('\n').slice(-2).join(' / ');
      reject(new Error(`ffmpeg could not join the segments${said ? `: ${said}` : ` (${err.message})`}`));
    });
  });
}

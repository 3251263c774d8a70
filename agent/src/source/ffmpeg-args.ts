import { execFile } from 'node:child_process';
import { frameFilter } from './ffmpeg-filter.js';
import type { FrameOutputOptions, SourceType } from './types.js';

/** What ffmpeg must open, built by one of rtsp.ts, file.ts, v4l2.ts, demo.ts. */
export interface FfmpegInput {
  type: SourceType;
  /** Options and `-i` for every input, in order; may depend on the ffmpeg version. */
  args(caps: FfmpegCapabilities): string[];
  /** For synthesised inputs: a filter_complex graph over the inputs that ends in `[scene]`. */
  sceneGraph?: string;
  /** For logs and errors: no credentials. */
  description: string;
  /** The input ends by itself (a file played once): a clean exit is the end, not a failure. */
  finite: boolean;
}

export interface FfmpegCapabilities {
  major: number;
  minor: number;
}

/**
 * The full command line: input, our filter chain (fps cap, letterbox, RGB), raw frames on stdout.
 * `-loglevel level+verbose`: the scaler states the source size at verbose level (stream-info.ts),
 * and level tags let errors be told from chatter. Verbose adds a handful of lines per start.
 */
export function buildFfmpegArgs(input: FfmpegInput, output: FrameOutputOptions, caps: FfmpegCapabilities): string[] {
  const filter = frameFilter(output);
  const graph = input.sceneGraph
    ? ['-filter_complex', `${input.sceneGraph};[scene]${filter}[frames]`, '-map', '[frames]']
    : ['-map', '0:v:0', '-vf', filter];
  // Passthrough: never duplicate or drop frames at the output; the cap happens in the filter.
  const passthrough = atLeast(caps, 5, 1) ? ['-fps_mode', 'passthrough'] : ['-vsync', 'passthrough'];
  return [
    '-hide_banner', '-nostdin', '-nostats', '-loglevel', atLeast(caps, 4, 2) ? 'level+verbose' : 'verbose',
    ...input.args(caps),
    ...graph,
    '-an', '-sn', '-dn',
    ...passthrough,
    '-pix_fmt', 'rgb24', '-f', 'rawvideo', 'pipe:1',
  ];
}

export function atLeast(caps: FfmpegCapabilities, major: number, minor = 0): boolean {
  return caps.major > major || (caps.major === major && caps.minor >= minor);
}

const capabilityCache = new Map<string, Promise<FfmpegCapabilities>>();

/**
 * ffmpeg's version, asked once per binary: options were renamed between 4.x (Debian 11,
 * Ubuntu 22.04, Raspberry Pi OS bullseye) and 5.x (`-stimeout` → `-timeout`, `-vsync` →
 * `-fps_mode`). A missing binary is not cached, so installing ffmpeg later is picked up.
 */
export function ffmpegCapabilities(ffmpegPath: string): Promise<FfmpegCapabilities> {
  let pending = capabilityCache.get(ffmpegPath);
  if (!pending) {
    pending = new Promise<FfmpegCapabilities>((resolve, reject) => {
      execFile(ffmpegPath, ['-hide_banner', '-version'], { timeout: 10_000 }, (err, stdout) => {
        if (err) reject(err);
        else resolve(parseFfmpegVersion(stdout));
      });
    });
    capabilityCache.set(ffmpegPath, pending);
    pending.catch(() => capabilityCache.delete(ffmpegPath));
  }
  return pending;
}

/** `ffmpeg version 5.1.9-0+deb12u1` → 5.1; git builds (`N-1234-g…`) count as new. */
export function parseFfmpegVersion(text: string): FfmpegCapabilities {
  const m = /version n?(\d+)\.(\d+)/.exec(text);
  if (m) return { major: Number(m[1]), minor: Number(m[2]) };
  return { major: 99, minor: 0 };
}

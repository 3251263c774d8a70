import { spawn } from 'node:child_process';
import type { LetterboxGeometry } from '@kestrel/core/image/letterbox';
import { KestrelError } from '@kestrel/core/util/errors';
import { buildFfmpegArgs, ffmpegCapabilities, type FfmpegInput } from './ffmpeg-args.js';
import { FrameCutter } from './frame-cutter.js';
import { FfmpegStderr, geometryFromScale } from './stream-info.js';
import type { FrameOutputOptions } from './types.js';

/** One frame of a video read once: model-input pixels and where the picture sits in them. */
export interface ReadFrame {
  /** Index among the frames ffmpeg decoded (after the fps cap), from 0. */
  index: number;
  /** RGB24, HWC, output.width × output.height × 3 bytes, letterboxed like the agent's frames. */
  data: Uint8Array;
  geometry: LetterboxGeometry;
}

export interface ReadFramesOptions {
  input: FfmpegInput;
  output: FrameOutputOptions;
  /** Default `ffmpeg` on PATH. */
  ffmpegPath?: string;
  /** A live stream fails when its first frame takes longer than this. Default 15 s. */
  firstFrameTimeoutMs?: number;
  /** Aborting ends the iteration after the frame in hand (Ctrl-C on a stream). */
  signal?: AbortSignal;
}

/** Frames held between ffmpeg and a slow consumer. */
const QUEUE_LIMIT = 4;

/**
 * Reads a video file or stream once, start to end, with the agent's ffmpeg command line (same
 * input options, filter chain and frame cutting as FfmpegSource, so offline predictions see the
 * pixels a camera would). Unlike FfmpegSource it never restarts: for `kestrel detect` a video
 * that fails is an error to report, not a camera to heal. A file is read as fast as the consumer
 * takes frames (ffmpeg's pipe is paused while the queue is full, so none is lost); a live input
 * cannot wait, so there the oldest queued frame is dropped instead, as a camera would drop it.
 * Throws KestrelError('E_VIDEO') naming ffmpeg's own error when ffmpeg fails.
 */
export async function* readFrames(options: ReadFramesOptions): AsyncGenerator<ReadFrame> {
  const { input, output, signal } = options;
  const ffmpegPath = options.ffmpegPath ?? 'ffmpeg';
  const live = !input.finite;
  let caps;
  try {
    caps = await ffmpegCapabilities(ffmpegPath);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new KestrelError('E_FFMPEG', code === 'ENOENT' ? `ffmpeg not found at "${ffmpegPath}": install ffmpeg (e.g. apt install ffmpeg) to read videos and streams` : `could not run ffmpeg: ${(err as Error).message}`);
  }
  const child = spawn(ffmpegPath, buildFfmpegArgs(input, output, caps), { stdio: ['ignore', 'pipe', 'pipe'] });

  const queue: ReadFrame[] = [];
  let held: Uint8Array[] = [];
  let geometry: LetterboxGeometry | undefined;
  let index = 0;
  let closed: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  let spawnError: Error | undefined;
  let wake: (() => void) | undefined;
  const notify = () => {
    const w = wake;
    wake = undefined;
    w?.();
  };

  const push = (data: Uint8Array, g: LetterboxGeometry) => {
    queue.push({ index: index++, data, geometry: g });
    if (queue.length > QUEUE_LIMIT) {
      if (live) queue.shift();
      else child.stdout.pause();
    }
    notify();
  };
  const cutter = new FrameCutter(output.width * output.height * 3, (data) => {
    // stdout and stderr race: a frame may come before the scaler's size line.
    if (!geometry) held.push(data);
    else push(data, geometry);
  });
  const stderr = new FfmpegStderr({
    onScale: (info) => {
      geometry = geometryFromScale(info, output).geometry;
      for (const data of held) push(data, geometry);
      held = [];
    },
    onPad: (info) => {
      if (geometry && (geometry.padX !== info.padX || geometry.padY !== info.padY)) geometry = { ...geometry, padX: info.padX, padY: info.padY };
    },
  });
  child.stdout.on('data', (chunk: Buffer) => cutter.push(chunk));
  child.stderr.on('data', (chunk: Buffer) => stderr.push(chunk));
  child.stdout.on('error', () => undefined);
  child.stderr.on('error', () => undefined);
  child.on('error', (err) => {
    spawnError = err;
  });
  child.on('close', (code, sig) => {
    stderr.end();
    closed = { code, signal: sig };
    notify();
  });
  const onAbort = () => notify();
  signal?.addEventListener('abort', onAbort);
  const firstFrameTimeoutMs = options.firstFrameTimeoutMs ?? 15_000;
  const timer = live
    ? setTimeout(() => {
        if (index === 0 && !closed) {
          spawnError = new Error(`no frame within ${firstFrameTimeoutMs / 1000}s`);
          child.kill('SIGKILL');
        }
      }, firstFrameTimeoutMs)
    : undefined;

  try {
    for (;;) {
      if (signal?.aborted) return;
      const next = queue.shift();
      if (next) {
        if (queue.length <= QUEUE_LIMIT / 2 && child.stdout.isPaused()) child.stdout.resume();
        yield next;
        continue;
      }
      if (closed) break;
      await new Promise<void>((resolve) => (wake = resolve));
    }
    if (spawnError || closed!.code !== 0) {
      const why = stderr.errorSummary();
      const how = spawnError
        ? (spawnError as NodeJS.ErrnoException).code === 'ENOENT' ? `ffmpeg not found at "${ffmpegPath}"` : spawnError.message
        : closed!.signal ? `ffmpeg was killed by ${closed!.signal}` : `ffmpeg exited with code ${closed!.code}`;
      throw new KestrelError('E_VIDEO', `${input.description} could not be read: ${how}${why ? ` (ffmpeg said: ${why})` : ''}`);
    }
    if (held.length) throw new KestrelError('E_VIDEO', `${input.description}: ffmpeg gave frames but never logged the source size (unexpected ffmpeg log format)`);
  } finally {
    clearTimeout(timer);
    signal?.removeEventListener('abort', onAbort);
    if (!closed) {
      // Stopped early (limit reached, Ctrl-C, the consumer failed): SIGTERM lets ffmpeg close an
      // RTSP session with TEARDOWN; SIGKILL if it hangs.
      child.stdout.resume();
      child.kill('SIGTERM');
      const force = setTimeout(() => child.kill('SIGKILL'), 2000);
      await new Promise<void>((resolve) => (closed ? resolve() : child.once('close', () => resolve())));
      clearTimeout(force);
    }
  }
}

import { spawn, type ChildProcessByStdio } from 'node:child_process';
import type { Readable } from 'node:stream';
import type { Logger } from '@kestrel/core';
import { backoffDelay, DEFAULT_BACKOFF, type BackoffOptions } from '../source/backoff.js';
import { ffmpegCapabilities, type FfmpegCapabilities, type FfmpegInput } from '../source/ffmpeg-args.js';
import { segmentListPath, segmentPattern } from './segment-ring.js';

/**
 * The recorder's command line: the camera's own input (the same builder the detection source
 * uses), its first video stream copied as it is (no decode, no encode) into MPEG-TS segments of
 * about `segmentSeconds` (cut at the next keyframe), listed with their lengths in the run's CSV. MPEG-TS because a segment cut short (ffmpeg
 * killed, power lost) still plays and concatenates; audio is left out because cameras often send
 * G.711, which an MP4 cannot hold.
 */
export function buildRecorderArgs(input: FfmpegInput, caps: FfmpegCapabilities, ring: { dir: string; run: number; segmentSeconds: number; listSize: number }): string[] {
  return [
    '-hide_banner', '-nostdin', '-nostats', '-loglevel', 'error',
    ...input.args(caps),
    '-map', '0:v:0', '-c', 'copy', '-an', '-sn', '-dn',
    '-f', 'segment', '-segment_time', String(ring.segmentSeconds), '-segment_format', 'mpegts', '-reset_timestamps', '1',
    // Each closed segment's exact length (SegmentRing reads it); only the last listSize, so the list stays small.
    '-segment_list', segmentListPath(ring.dir, ring.run), '-segment_list_type', 'csv', '-segment_list_size', String(ring.listSize),
    segmentPattern(ring.dir, ring.run),
  ];
}

export type RecorderState = 'starting' | 'recording' | 'failed' | 'ended' | 'stopped';

export interface RecorderStatus {
  state: RecorderState;
  /** The run (epoch ms of its spawn) whose ffmpeg writes now; undefined between runs. */
  liveRun?: number;
  lastError?: string;
  /** The running ffmpeg's process id. */
  pid?: number;
  /** ffmpeg processes started after the first. */
  restarts: number;
}

export interface RingRecorderOptions {
  camera: string;
  input: FfmpegInput;
  dir: string;
  segmentSeconds: number;
  /** Most segments the ring can hold: the run's list keeps that many lines. */
  listSize: number;
  ffmpegPath: string;
  backoff?: BackoffOptions;
  /** After SIGTERM, how long ffmpeg may take to close its segment before SIGKILL. Default 2000 ms. */
  stopGraceMs?: number;
  logger: Logger;
}

type Child = ChildProcessByStdio<null, null, Readable>;

/** Lines of ffmpeg's error output kept for the reason of an exit. */
const STDERR_LINES = 5;

/**
 * A second ffmpeg per camera, independent of the detection source (a detection restart does not
 * cut the recording, nor the other way round), writing the ring's segments. When it exits it is
 * started again after the sources' capped, jittered backoff; a file played once that ends is
 * `ended`. Stopping sends SIGTERM, so ffmpeg closes the segment it writes, then SIGKILL after a grace.
 */
export class RingRecorder {
  private child?: Child;
  private run?: number;
  private state: RecorderState = 'stopped';
  private lastError?: string;
  private restarts = 0;
  private attempt = 0;
  private retryTimer?: NodeJS.Timeout;
  private stopping = false;
  /** Why the running ffmpeg is being ended on purpose (restart()), reported instead of its SIGTERM. */
  private restartReason?: string;
  private closed: Promise<void> = Promise.resolve();
  private readonly stderr: string[] = [];

  constructor(private readonly options: RingRecorderOptions) {}

  async start(): Promise<void> {
    this.stopping = false;
    await this.spawn();
  }

  status(): RecorderStatus {
    return {
      state: this.state,
      ...(this.run !== undefined && this.child && { liveRun: this.run }),
      ...(this.child?.pid !== undefined && { pid: this.child.pid }),
      ...(this.lastError !== undefined && { lastError: this.lastError }),
      restarts: this.restarts,
    };
  }

  /** Ends the running ffmpeg on purpose (no video written for too long); the exit handler restarts it. */
  restart(why: string): void {
    const child = this.child;
    if (!child || this.stopping || this.restartReason) return;
    this.restartReason = why;
    child.kill('SIGTERM');
    // An ffmpeg stuck in a read may not act on SIGTERM.
    const kill = setTimeout(() => child.kill('SIGKILL'), this.options.stopGraceMs ?? 2000);
    child.once('close', () => clearTimeout(kill));
  }

  async stop(): Promise<void> {
    this.stopping = true;
    clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    const child = this.child;
    if (child) {
      child.kill('SIGTERM');
      const kill = setTimeout(() => child.kill('SIGKILL'), this.options.stopGraceMs ?? 2000);
      await this.closed;
      clearTimeout(kill);
    }
    this.state = 'stopped';
  }

  private async spawn(): Promise<void> {
    const { options } = this;
    let args: string[];
    const run = Date.now();
    try {
      args = buildRecorderArgs(options.input, await ffmpegCapabilities(options.ffmpegPath), { dir: options.dir, run, segmentSeconds: options.segmentSeconds, listSize: options.listSize });
    } catch (err) {
      this.failed(`could not run ffmpeg at "${options.ffmpegPath}": ${(err as Error).message}`);
      return;
    }
    if (this.stopping) return;
    this.state = 'starting';
    this.stderr.length = 0;
    let child: Child;
    try {
      child = spawn(options.ffmpegPath, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    } catch (err) {
      this.failed(`could not run ffmpeg: ${(err as Error).message}`);
      return;
    }
    this.child = child;
    this.run = run;
    let spawnError: Error | undefined;
    child.on('error', (err) => (spawnError = err));
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (chunk: string) => {
      for (const line of chunk.split('\n')) {
        if (!line.trim()) continue;
        this.stderr.push(line.trim());
        if (this.stderr.length > STDERR_LINES) this.stderr.shift();
      }
    });
    child.stderr.on('error', () => undefined);
    child.once('spawn', () => {
      if (this.child === child) this.state = 'recording';
    });
    this.closed = new Promise((resolve) => {
      child.once('close', (code, signal) => {
        if (this.child === child) {
          this.child = undefined;
          this.run = undefined;
        }
        resolve();
        this.onExit(code, signal, spawnError);
      });
    });
  }

  private onExit(code: number | null, signal: NodeJS.Signals | null, spawnError: Error | undefined): void {
    if (this.stopping) return;
    if (code === 0 && !signal && this.options.input.finite) {
      this.state = 'ended';
      this.options.logger.info('clip recorder: input ended');
      return;
    }
    const why = this.stderr.at(-1);
    const reason = this.restartReason ?? (spawnError
      ? (spawnError as NodeJS.ErrnoException).code === 'ENOENT'
        ? `ffmpeg not found at "${this.options.ffmpegPath}"`
        : `could not run ffmpeg: ${spawnError.message}`
      : `ffmpeg ${signal ? `was killed by ${signal}` : `exited with code ${code}`}${why ? `: ${why}` : ''}`);
    this.restartReason = undefined;
    this.failed(reason);
  }

  private failed(reason: string): void {
    this.state = 'failed';
    this.lastError = reason;
    const delay = backoffDelay(this.attempt++, { ...DEFAULT_BACKOFF, ...this.options.backoff });
    this.options.logger.warn({ reason: this.lastError, retryInMs: delay }, 'clip recorder stopped; restarting with backoff');
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      if (this.stopping) return;
      this.restarts++;
      void this.spawn();
    }, delay);
  }

  /** A run that lasted is a recovery: the next failure starts the backoff from the beginning again. */
  recovered(): void {
    this.attempt = 0;
  }
}

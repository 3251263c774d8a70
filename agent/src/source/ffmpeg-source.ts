import { spawn, type ChildProcessByStdio } from 'node:child_process';
import { EventEmitter } from 'node:events';
import type { Readable } from 'node:stream';
import { letterboxGeometry, type LetterboxGeometry } from '@kestrel/core/image/letterbox';
import { createLogger, type Logger } from '@kestrel/core/util/log';
import { backoffDelay, DEFAULT_BACKOFF, type BackoffOptions } from './backoff.js';
import { buildFfmpegArgs, ffmpegCapabilities, type FfmpegInput } from './ffmpeg-args.js';
import { FrameCutter } from './frame-cutter.js';
import { cleanLine, FfmpegStderr, type LogLine, type ScaleInfo } from './stream-info.js';
import type { Frame, FrameOutputOptions, FrameSource, FrameSourceEvents, SourceCounters, SourceType, SourceState, SourceStatus } from './types.js';

export interface FfmpegSourceOptions {
  camera: string;
  input: FfmpegInput;
  output: FrameOutputOptions;
  /** Restart when no frame arrived for this long while streaming. Default 5 s. */
  stallSeconds?: number;
  /** Restart when a fresh ffmpeg gave no frame within this long. Default 15 s (slow RTSP handshakes, long GOPs). */
  connectTimeoutSeconds?: number;
  backoff?: BackoffOptions;
  /** After SIGTERM, how long ffmpeg may take before SIGKILL. Default 2000 ms. */
  stopGraceMs?: number;
  /** Default `ffmpeg` on PATH. */
  ffmpegPath?: string;
  logger?: Logger;
}

type Child = ChildProcessByStdio<null, Readable, Readable>;

/** One ffmpeg process and what belongs to it alone. */
interface Run {
  child?: Child;
  startedAt: number;
  lastFrameAt?: number;
  geometry?: LetterboxGeometry;
  /** A frame that arrived before the scaler's size line was read from stderr (the pipes race). */
  heldFrame?: { data: Uint8Array; capturedAt: number };
  framesWithoutGeometry: number;
  cutter: FrameCutter;
  stderr: FfmpegStderr;
  spawnError?: Error;
  /** Set when we decided to end this run (watchdog, stop): the state and message to report. */
  killedFor?: { state: SourceState; message?: string };
  closed: Promise<void>;
  markClosed: () => void;
  exited: boolean;
}

const WATCHDOG_TICK_MS = 250;
/** Frames tolerated before the source size is known; beyond this ffmpeg's output is not understood. */
const MAX_FRAMES_WITHOUT_GEOMETRY = 5;

/**
 * A camera read by one ffmpeg child process (spawned directly, no shell) that writes raw RGB24
 * frames of the model's input size to stdout. It heals itself: when ffmpeg exits, or gives no
 * frame for `stallSeconds` (no frame `connectTimeoutSeconds` after a start), it is stopped and
 * started again after a capped, jittered exponential backoff; every state change is reported.
 * Nothing it meets at run time throws: errors become state `failed` with `lastError`.
 */
export class FfmpegSource extends EventEmitter<FrameSourceEvents> implements FrameSource {
  readonly camera: string;
  readonly type: SourceType;
  private readonly input: FfmpegInput;
  private readonly output: FrameOutputOptions;
  private readonly frameSize: number;
  private readonly stallMs: number;
  private readonly connectTimeoutMs: number;
  private readonly backoff: BackoffOptions;
  private readonly stopGraceMs: number;
  private readonly ffmpegPath: string;
  private readonly log: Logger;

  private state: SourceState = 'stopped';
  private since = Date.now();
  private lastError: string | undefined;
  private lastErrorAt: number | undefined;
  private retryAt: number | undefined;
  private stopReason: SourceStatus['stopReason'];
  private sourceSize: { width: number; height: number } | undefined;
  private lastFrameAt: number | undefined;
  private readonly counters: SourceCounters = { framesIn: 0, bytesIn: 0, restarts: 0, stalls: 0 };
  private seq = 0;
  private attempt = 0;
  private listenerErrors = 0;
  /** The problem last logged at warn level, and when the outage began: an operator gets one line per new problem, not one per retry. */
  private loggedProblem: string | undefined;
  private outageSince: number | undefined;

  private run: Run | undefined;
  private started = false;
  private stopping: Promise<void> | undefined;
  private launching: Promise<void> | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  private watchdog: NodeJS.Timeout | undefined;

  constructor(options: FfmpegSourceOptions) {
    super();
    this.camera = options.camera;
    this.type = options.input.type;
    this.input = options.input;
    this.output = options.output;
    this.frameSize = options.output.width * options.output.height * 3;
    this.stallMs = (options.stallSeconds ?? 5) * 1000;
    this.connectTimeoutMs = (options.connectTimeoutSeconds ?? 15) * 1000;
    this.backoff = { ...DEFAULT_BACKOFF, ...options.backoff };
    this.stopGraceMs = options.stopGraceMs ?? 2000;
    this.ffmpegPath = options.ffmpegPath ?? 'ffmpeg';
    this.log = (options.logger ?? createLogger('source')).child({ camera: this.camera });
  }

  async start(): Promise<void> {
    // A source lives once: after stop(), make a new one (the controller does on reload).
    if (this.started || this.stopping) throw new Error(`camera ${this.camera}: start() on a source that was already started or stopped`);
    this.started = true;
    this.log.info({ source: this.input.description }, 'camera starting');
    this.watchdog = setInterval(() => this.checkWatchdog(), Math.min(WATCHDOG_TICK_MS, this.stallMs / 4));
    this.setState('connecting');
    await this.launch();
  }

  stop(): Promise<void> {
    this.stopping ??= this.shutdown();
    return this.stopping;
  }

  status(): SourceStatus {
    const now = Date.now();
    return {
      camera: this.camera,
      type: this.type,
      state: this.state,
      since: this.since,
      ...(this.lastError !== undefined && { lastError: this.lastError, lastErrorAt: this.lastErrorAt }),
      ...(this.retryAt !== undefined && { retryInMs: Math.max(0, this.retryAt - now) }),
      ...(this.state === 'stopped' && this.stopReason && { stopReason: this.stopReason }),
      ...(this.sourceSize && { sourceWidth: this.sourceSize.width, sourceHeight: this.sourceSize.height }),
      ...(this.lastFrameAt !== undefined && { lastFrameAt: this.lastFrameAt }),
      ...(this.run?.child?.pid !== undefined && !this.run.exited && { pid: this.run.child.pid }),
      counters: { ...this.counters },
    };
  }

  /** Listener exceptions caught while delivering frames or states (each is logged). */
  get listenerErrorCount(): number {
    return this.listenerErrors;
  }

  private async shutdown(): Promise<void> {
    clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    this.retryAt = undefined;
    clearInterval(this.watchdog);
    this.watchdog = undefined;
    await this.launching;
    const run = this.run;
    if (run) {
      run.killedFor = { state: 'stopped' };
      this.terminate(run, this.stopGraceMs);
      await run.closed;
    }
    if (this.state !== 'stopped') {
      this.stopReason = 'stopped';
      this.setState('stopped');
    }
    this.log.info('camera stopped');
  }

  private launch(): Promise<void> {
    this.launching = this.spawnRun().finally(() => {
      this.launching = undefined;
    });
    return this.launching;
  }

  private async spawnRun(): Promise<void> {
    let markClosed!: () => void;
    const closed = new Promise<void>((resolve) => (markClosed = resolve));
    const run: Run = {
      startedAt: Date.now(),
      framesWithoutGeometry: 0,
      cutter: new FrameCutter(this.frameSize, (data) => this.onFrameData(run, data)),
      stderr: new FfmpegStderr({
        onScale: (info) => this.onScale(run, info),
        onPad: (info) => this.onPad(run, info),
        ...(this.log.isLevelEnabled('trace') && { onLine: (line: LogLine) => this.log.trace({ ffmpeg: cleanLine(line.raw) }, 'ffmpeg') }),
      }),
      closed,
      markClosed,
      exited: false,
    };
    this.run = run;

    let args: string[];
    try {
      args = buildFfmpegArgs(this.input, this.output, await ffmpegCapabilities(this.ffmpegPath));
    } catch (err) {
      run.spawnError = err as Error;
      this.onRunClosed(run, null, null);
      return;
    }
    if (this.stopping) {
      // stop() came while we asked ffmpeg for its version: nothing to start.
      run.exited = true;
      run.markClosed();
      if (this.run === run) this.run = undefined;
      return;
    }
    this.log.debug({ args: args.map((a) => (a.includes('://') ? this.input.description : a)) }, 'spawning ffmpeg');
    let child: Child;
    try {
      child = spawn(this.ffmpegPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    } catch (err) {
      run.spawnError = err as Error;
      this.onRunClosed(run, null, null);
      return;
    }
    run.child = child;
    child.stdout.on('data', (chunk: Buffer) => {
      this.counters.bytesIn += chunk.length;
      run.cutter.push(chunk);
    });
    child.stderr.on('data', (chunk: Buffer) => run.stderr.push(chunk));
    // Pipe errors surface as the process closing; they must not become uncaught exceptions.
    child.stdout.on('error', (err) => this.log.debug({ err: err.message }, 'ffmpeg stdout error'));
    child.stderr.on('error', (err) => this.log.debug({ err: err.message }, 'ffmpeg stderr error'));
    child.on('error', (err) => {
      run.spawnError = err;
    });
    child.on('exit', () => {
      run.exited = true;
    });
    child.on('close', (code, signal) => this.onRunClosed(run, code, signal));
  }

  /**
   * The scaler configured itself (first frame, or the camera changed resolution): this is the
   * source size, and ffmpeg's scaled size must be the one letterboxGeometry() predicts.
   */
  private onScale(run: Run, info: ScaleInfo): void {
    const expected = letterboxGeometry(info.srcWidth, info.srcHeight, this.output.width, this.output.height, this.output.keepAspect ?? true);
    if (expected.scaledWidth !== info.scaledWidth || expected.scaledHeight !== info.scaledHeight) {
      // Never seen in tests; if an ffmpeg ever rounds differently, trust what it did to the pixels.
      this.log.error({ ffmpeg: info, expected }, 'ffmpeg scaled differently from letterboxGeometry(); using ffmpeg\'s numbers');
      expected.scaledWidth = info.scaledWidth;
      expected.scaledHeight = info.scaledHeight;
      expected.scaleX = info.scaledWidth / info.srcWidth;
      expected.scaleY = info.scaledHeight / info.srcHeight;
    }
    const resized = run.geometry !== undefined && (run.geometry.srcWidth !== info.srcWidth || run.geometry.srcHeight !== info.srcHeight);
    if (resized) this.log.info({ width: info.srcWidth, height: info.srcHeight }, 'camera changed resolution');
    run.geometry = expected;
    this.sourceSize = { width: info.srcWidth, height: info.srcHeight };
    const held = run.heldFrame;
    run.heldFrame = undefined;
    if (held) this.emitFrame(run, held.data, held.capturedAt);
  }

  private onPad(run: Run, info: { padX: number; padY: number }): void {
    const g = run.geometry;
    if (!g || (g.padX === info.padX && g.padY === info.padY)) return;
    this.log.error({ ffmpeg: info, expected: { padX: g.padX, padY: g.padY } }, 'ffmpeg padded differently from letterboxGeometry(); using ffmpeg\'s numbers');
    run.geometry = { ...g, padX: info.padX, padY: info.padY };
  }

  private onFrameData(run: Run, data: Uint8Array): void {
    if (run.killedFor || this.stopping) return;
    const capturedAt = Date.now();
    if (!run.geometry) {
      // stdout and stderr are separate pipes: the size line may be read just after the frame.
      run.heldFrame = { data, capturedAt };
      if (++run.framesWithoutGeometry > MAX_FRAMES_WITHOUT_GEOMETRY) {
        this.endRun(run, 'failed', 'ffmpeg gave frames but never logged the source size (unexpected ffmpeg log format)');
      }
      return;
    }
    this.emitFrame(run, data, capturedAt);
  }

  private emitFrame(run: Run, data: Uint8Array, capturedAt: number): void {
    run.lastFrameAt = capturedAt;
    this.lastFrameAt = capturedAt;
    this.counters.framesIn++;
    if (this.state !== 'streaming') {
      this.attempt = 0;
      this.retryAt = undefined;
      this.setState('streaming');
      const size = { width: run.geometry!.srcWidth, height: run.geometry!.srcHeight, afterMs: capturedAt - run.startedAt };
      if (this.outageSince !== undefined) this.log.info({ ...size, outageMs: capturedAt - this.outageSince, restarts: this.counters.restarts }, 'camera recovered');
      else this.log.info(size, 'camera streaming');
      this.outageSince = undefined;
      this.loggedProblem = undefined;
    }
    const frame: Frame = {
      camera: this.camera,
      seq: this.seq++,
      data,
      width: this.output.width,
      height: this.output.height,
      geometry: run.geometry!,
      capturedAt,
    };
    this.safeEmit('frame', frame);
  }

  private checkWatchdog(): void {
    const run = this.run;
    if (!run || run.killedFor || this.stopping || !run.child) return;
    const now = Date.now();
    if (run.lastFrameAt === undefined) {
      if (now - run.startedAt > this.connectTimeoutMs) {
        this.counters.stalls++;
        const why = run.stderr.errorSummary();
        this.endRun(run, 'failed', `no frame within ${this.connectTimeoutMs / 1000}s of starting ffmpeg${why ? ` (ffmpeg said: ${why})` : ''}`);
      }
    } else if (now - run.lastFrameAt > this.stallMs) {
      this.counters.stalls++;
      this.endRun(run, 'stalled', `no frame for ${this.stallMs / 1000}s`);
    }
  }

  /** We end a run on purpose (watchdog): report now, kill, and let the close handler retry. */
  private endRun(run: Run, state: SourceState, message: string): void {
    run.killedFor = { state, message };
    this.lastError = message;
    this.lastErrorAt = Date.now();
    this.logProblem(message, { state }, 'restarting camera');
    this.setState(state);
    this.terminate(run, Math.min(this.stopGraceMs, 1000));
  }

  private onRunClosed(run: Run, code: number | null, signal: NodeJS.Signals | null): void {
    run.exited = true;
    run.stderr.end();
    run.cutter.reset();
    run.markClosed();
    if (this.run === run) this.run = undefined;
    if (this.stopping) return;

    if (run.killedFor) {
      this.scheduleRetry(run.killedFor.state);
      return;
    }
    if (code === 0 && this.input.finite) {
      this.stopReason = 'ended';
      clearInterval(this.watchdog);
      this.watchdog = undefined;
      this.setState('stopped');
      this.log.info('input ended');
      return;
    }
    this.lastError = this.describeExit(run, code, signal);
    this.lastErrorAt = Date.now();
    this.logProblem(this.lastError, {}, 'ffmpeg exited');
    this.scheduleRetry('failed');
  }

  private logProblem(reason: string, fields: Record<string, unknown>, msg: string): void {
    this.outageSince ??= Date.now();
    if (reason === this.loggedProblem) {
      this.log.debug({ ...fields, reason, attempt: this.attempt }, msg);
      return;
    }
    this.loggedProblem = reason;
    this.log.warn({ ...fields, reason }, `${msg}; retrying with backoff`);
  }

  private describeExit(run: Run, code: number | null, signal: NodeJS.Signals | null): string {
    const err = run.spawnError as NodeJS.ErrnoException | undefined;
    if (err?.code === 'ENOENT') return `ffmpeg not found at "${this.ffmpegPath}": install ffmpeg (e.g. apt install ffmpeg) or set the ffmpeg path`;
    if (err?.code === 'EACCES') return `ffmpeg at "${this.ffmpegPath}" is not executable`;
    if (err) return `could not run ffmpeg: ${err.message}`;
    if (code === 0 && !signal) {
      const early = run.lastFrameAt === undefined ? ' before the first frame' : '';
      return this.type === 'rtsp' ? `the camera closed the stream${early}` : `the input ended unexpectedly${early}`;
    }
    const how = signal ? `was killed by ${signal}` : `exited with code ${code}`;
    const why = run.stderr.errorSummary();
    const early = run.lastFrameAt === undefined ? ' before the first frame' : '';
    return `ffmpeg ${how}${early}${why ? `: ${why}` : ''}`;
  }

  private scheduleRetry(state: SourceState): void {
    const delay = backoffDelay(this.attempt++, this.backoff);
    this.retryAt = Date.now() + delay;
    this.setState(state, true);
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      this.retryAt = undefined;
      if (this.stopping) return;
      this.counters.restarts++;
      this.setState('connecting');
      void this.launch();
    }, delay);
  }

  /** SIGTERM lets ffmpeg send RTSP TEARDOWN (cameras have few session slots); SIGKILL if it hangs. */
  private terminate(run: Run, graceMs: number): void {
    const child = run.child;
    if (!child || run.exited) return;
    child.kill('SIGTERM');
    const timer = setTimeout(() => {
      if (!run.exited) child.kill('SIGKILL');
    }, graceMs);
    void run.closed.then(() => clearTimeout(timer));
  }

  /** Reports a state; `force` re-reports an unchanged state (a retry was scheduled). */
  private setState(state: SourceState, force = false): void {
    if (state === this.state && !force) return;
    if (state !== this.state) this.since = Date.now();
    this.state = state;
    this.safeEmit('state', this.status());
  }

  private safeEmit<K extends keyof FrameSourceEvents>(event: K, ...args: FrameSourceEvents[K]): void {
    try {
      (this.emit as (event: K, ...args: FrameSourceEvents[K]) => boolean)(event, ...args);
    } catch (err) {
      this.listenerErrors++;
      this.log.error({ err, event }, 'a camera listener threw; the camera goes on');
    }
  }
}

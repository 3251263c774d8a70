import type { LetterboxGeometry } from '@kestrel/core/image/letterbox';

/** One decoded camera frame, already at the model's input size. */
export interface Frame {
  /** Name of the camera that produced it. */
  camera: string;
  /** Per-source sequence number: 0, 1, 2, ... across ffmpeg restarts. */
  seq: number;
  /**
   * RGB24 pixels, HWC, exactly width × height × 3 bytes, letterboxed with the configured pad
   * value. The array owns its ArrayBuffer (byteOffset 0, nothing else in it), so a consumer may
   * transfer it to a worker thread.
   */
  data: Uint8Array;
  /** Model input size. */
  width: number;
  height: number;
  /** How the source image sits inside the frame (source size → input), to map boxes back. */
  geometry: LetterboxGeometry;
  /** Epoch ms when the frame was cut from ffmpeg's pipe. */
  capturedAt: number;
}

/**
 * - `connecting`: ffmpeg is running but no frame has arrived yet.
 * - `streaming`: frames arrive.
 * - `stalled`: frames stopped for `stallSeconds`; ffmpeg is being restarted.
 * - `failed`: the last attempt ended in an error (see `lastError`); a retry is scheduled.
 * - `stopped`: `stop()` was called, or a finite input (a file without loop) ended.
 */
export type SourceState = 'connecting' | 'streaming' | 'stalled' | 'failed' | 'stopped';

export interface SourceCounters {
  /** Frames cut from the pipe and handed to listeners. */
  framesIn: number;
  /** Bytes read from ffmpeg's stdout. */
  bytesIn: number;
  /** ffmpeg processes started after the first one. */
  restarts: number;
  /** Times the watchdog found no frame for `stallSeconds` (or none after start). */
  stalls: number;
}

export interface SourceStatus {
  camera: string;
  type: SourceType;
  state: SourceState;
  /** Epoch ms of the last state change. */
  since: number;
  /** Why the last attempt failed or stalled; kept after recovery so operators can see it. */
  lastError?: string;
  /** Epoch ms of `lastError`. */
  lastErrorAt?: number;
  /** While `failed` or `stalled`: milliseconds until the next attempt. */
  retryInMs?: number;
  /** Why a `stopped` source stopped. */
  stopReason?: 'stopped' | 'ended';
  /** Source resolution, once ffmpeg has reported it. */
  sourceWidth?: number;
  sourceHeight?: number;
  /** Epoch ms of the last frame. */
  lastFrameAt?: number;
  /** Process id of the running ffmpeg, if one runs. */
  pid?: number;
  counters: SourceCounters;
}

/** The config's `source.type`. */
export type SourceType = 'rtsp' | 'file' | 'v4l2' | 'demo';

/** Events of a FrameSource, one signature per event (Node's typed EventEmitter map). */
export interface FrameSourceEvents {
  frame: [frame: Frame];
  state: [status: SourceStatus];
}

/**
 * A camera. `start()` never throws for runtime trouble (unreachable camera, missing ffmpeg):
 * that shows up as state `failed` with `lastError`, and the source keeps retrying.
 */
export interface FrameSource {
  readonly camera: string;
  readonly type: SourceType;
  /** Starts ffmpeg; resolves once it was spawned (not when the first frame arrives). */
  start(): Promise<void>;
  /** Stops for good: resolves when ffmpeg has exited (SIGTERM, then SIGKILL after a grace). */
  stop(): Promise<void>;
  status(): SourceStatus;
  on<K extends keyof FrameSourceEvents>(event: K, listener: (...args: FrameSourceEvents[K]) => void): this;
  off<K extends keyof FrameSourceEvents>(event: K, listener: (...args: FrameSourceEvents[K]) => void): this;
}

/** Where frames must end up: the model's input. */
export interface FrameOutputOptions {
  width: number;
  height: number;
  /** Keep the aspect ratio and pad (letterbox); false stretches. Default true. */
  keepAspect?: boolean;
  /** Grey level 0–255 of the padding. Default DEFAULT_PAD_VALUE (114, the YOLO convention). */
  padValue?: number;
  /** Frames per second cap; undefined passes every decoded frame. */
  fps?: number;
}

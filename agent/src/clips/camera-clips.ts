import { mkdirSync, readdirSync, statSync, unlinkSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { KestrelError, type Logger } from '@kestrel/core';
import type { CameraConfig } from '@kestrel/config';
import { inputFor, type SourceSpec } from '../source/create.js';
import { makeClip } from './clip-maker.js';
import { RingRecorder, type RecorderStatus } from './ring-recorder.js';
import { covering, SegmentRing, type Segment } from './segment-ring.js';

export type ClipsConfig = CameraConfig['clips'];

/** What the agent publishes once a clip is on disk (the `clip` topic's payload, less what the agent adds). */
export interface ClipNotice {
  camera: string;
  trackId: string;
  label: string;
  start: number;
  end: number;
  durationS: number;
  bytes: number;
  /** The HTTP route that serves it. */
  path: string;
  truncated?: boolean;
}

export interface ClipCounters {
  /** Clips written. */
  made: number;
  /** Clips that could not be made (no recording of the time, ffmpeg failed), each logged. */
  failed: number;
  /** Ended objects that got no clip because MAX_PENDING were already waiting, or the agent stopped first. */
  dropped: number;
  /** Bytes of the clips written. */
  bytes: number;
  /** Ring segments deleted once no clip could need them. */
  segmentsDeleted: number;
  /** Finished clips deleted by age (`retainHours`) or size (`maxBytes`). */
  clipsDeleted: number;
}

export interface CameraClipsDeps {
  stateDir: string;
  ffmpegPath: string;
  /** Called once per clip written. */
  onClip: (clip: ClipNotice) => void;
  logger: Logger;
  /** A recorder that wrote nothing for this long is restarted. Default max(20 s, 4 segments). */
  stallMs?: number;
}

/** Ended objects waiting for their clip per camera (post window, then ffmpeg); more are dropped, counted. */
export const MAX_PENDING = 32;
/** Longest wait past a clip's end for the segment holding it to close, in segments (plus a second). */
const CLOSE_WAIT_SEGMENTS = 2;
const POLL_MS = 250;
const RETENTION_EVERY_MS = 60_000;

interface Pending {
  trackId: string;
  label: string;
  /** What the clip should cover (epoch ms), and where it starts once capped at maxSeconds. */
  wantedFrom: number;
  from: number;
  to: number;
  timer?: NodeJS.Timeout;
}

/** Event ids become file names: only what the tracker writes (`<ms>-<hex>`), nothing that climbs folders. */
const SAFE_ID = /^[A-Za-z0-9_-][A-Za-z0-9_.-]{0,127}$/;

/**
 * One camera's clips, Frigate's "seconds before and after" without re-encoding: a RingRecorder
 * keeps the camera's stream as short MPEG-TS segments in `<stateDir>/clips/<camera>/ring/`, and
 * for each tracked object that ends, `postSeconds` later, the segments covering
 * [firstSeen − preSeconds, lastSeen + postSeconds] are joined into `<stateDir>/clips/<camera>/<trackId>.mp4`.
 *
 * Disk stays bounded: a segment is deleted as soon as no open object, waiting clip or pre window
 * can need it, and never kept longer than the longest clip (`maxSeconds`) plus its margins;
 * finished clips go by age and by the camera's byte budget.
 */
export class CameraClips {
  readonly dir: string;
  private readonly ring: SegmentRing;
  private readonly recorder: RingRecorder;
  /** Open objects by event id: when each was first seen. */
  private readonly holds = new Map<string, number>();
  private readonly pending = new Map<string, Pending>();
  private building: Promise<void> = Promise.resolve();
  private ticker?: NodeJS.Timeout;
  private lastRetention = 0;
  private stopped = false;
  private readonly segmentMs: number;
  readonly counters: ClipCounters = { made: 0, failed: 0, dropped: 0, bytes: 0, segmentsDeleted: 0, clipsDeleted: 0 };

  constructor(
    readonly camera: string,
    private readonly config: ClipsConfig,
    source: SourceSpec,
    private readonly deps: CameraClipsDeps,
    private readonly now: () => number = Date.now,
  ) {
    if (source.type !== 'rtsp' && source.type !== 'file') throw new Error(`camera ${camera}: clips need an rtsp or file source, not ${source.type}`);
    this.dir = join(deps.stateDir, 'clips', camera);
    this.segmentMs = config.segmentSeconds * 1000;
    this.ring = new SegmentRing(join(this.dir, 'ring'), this.segmentMs);
    // A file is recorded at its own pace (the config refuses clips of a file read flat out): segment times are wall-clock times.
    const input = inputFor(source.type === 'file' ? { ...source, realtime: true } : source);
    const listSize = Math.ceil((config.maxSeconds + config.preSeconds + config.postSeconds) / config.segmentSeconds) + 8;
    this.recorder = new RingRecorder({ camera, input, dir: this.ring.dir, segmentSeconds: config.segmentSeconds, listSize, ffmpegPath: deps.ffmpegPath, logger: deps.logger });
  }

  /** Throws when the clips folder cannot be made (E_STATE_DIR); ffmpeg's own trouble is the recorder's state. */
  async start(): Promise<void> {
    try {
      mkdirSync(this.dir, { recursive: true });
      this.ring.ensure();
    } catch (err) {
      throw new KestrelError('E_STATE_DIR', `cannot make the clips folder ${this.dir}: ${(err as Error).message}`);
    }
    this.ticker = setInterval(() => this.tick(), Math.min(1000, this.segmentMs / 2));
    this.ticker.unref();
    await this.recorder.start();
    this.deps.logger.info({ dir: this.dir, preSeconds: this.config.preSeconds, postSeconds: this.config.postSeconds }, 'clip recorder started');
  }

  /** A tracked object was announced (`new`): the ring keeps its time from now on. */
  objectStarted(trackId: string, firstSeen: number): void {
    if (!this.stopped) this.holds.set(trackId, firstSeen);
  }

  /** The object's `end`: its clip is made once `postSeconds` have been recorded. */
  objectEnded(ended: { trackId: string; label: string; firstSeen: number; lastSeen: number }): void {
    this.holds.delete(ended.trackId);
    if (this.stopped || this.pending.has(ended.trackId)) return;
    if (!SAFE_ID.test(ended.trackId)) {
      this.counters.failed++;
      this.deps.logger.warn({ trackId: ended.trackId }, 'no clip: the event id cannot be a file name');
      return;
    }
    if (this.pending.size >= MAX_PENDING) {
      this.counters.dropped++;
      this.deps.logger.warn({ trackId: ended.trackId, pending: this.pending.size }, 'no clip: too many clips waiting');
      return;
    }
    const wantedFrom = ended.firstSeen - this.config.preSeconds * 1000;
    const to = ended.lastSeen + this.config.postSeconds * 1000;
    const from = Math.max(wantedFrom, to - this.config.maxSeconds * 1000);
    const p: Pending = { trackId: ended.trackId, label: ended.label, wantedFrom, from, to };
    this.pending.set(p.trackId, p);
    this.waitForEnd(p);
  }

  /** A finished clip's file, for the HTTP route; undefined when there is none. */
  find(trackId: string): string | undefined {
    if (!SAFE_ID.test(trackId)) return undefined;
    const path = join(this.dir, `${trackId}.mp4`);
    return existsSync(path) ? path : undefined;
  }

  recorderStatus(): RecorderStatus {
    return this.recorder.status();
  }

  degraded(): string[] {
    const s = this.recorder.status();
    return s.state === 'failed' ? [`camera ${this.camera} clips: recorder failed: ${s.lastError ?? 'unknown'}`] : [];
  }

  /**
   * Stops the recorder (ffmpeg closes its segment), then makes the clips still waiting from what
   * was recorded, for as long as `timeoutMs` allows; the rest are counted as dropped.
   */
  async stop(timeoutMs = 5000): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    const deadline = Date.now() + timeoutMs;
    clearInterval(this.ticker);
    await this.recorder.stop();
    const waiting = [...this.pending.values()];
    for (const p of waiting) clearTimeout(p.timer);
    await this.building;
    for (const p of waiting) {
      if (Date.now() >= deadline) {
        this.counters.dropped++;
        this.pending.delete(p.trackId);
        continue;
      }
      await this.make(p);
    }
    this.holds.clear();
  }

  /** Waits until the segment holding the clip's end is closed (or long enough), then queues the build. */
  private waitForEnd(p: Pending): void {
    const giveUpAt = p.to + CLOSE_WAIT_SEGMENTS * this.segmentMs + 1000;
    const check = () => {
      p.timer = undefined;
      if (this.stopped) return;
      const live = this.recorder.status().liveRun;
      const segments = this.ring.list(live);
      const done = live === undefined || segments.some((s) => s.closed && s.end >= p.to) || this.now() >= giveUpAt;
      if (!done) {
        p.timer = setTimeout(check, POLL_MS);
        return;
      }
      this.building = this.building.then(() => this.make(p));
    };
    p.timer = setTimeout(check, Math.max(0, p.to - this.now()) + POLL_MS);
  }

  private async make(p: Pending): Promise<void> {
    if (!this.pending.has(p.trackId)) return;
    try {
      const segments = covering(this.ring.list(this.recorder.status().liveRun), p.from, p.to);
      if (segments.length === 0) throw new Error(`no recording covers ${new Date(p.from).toISOString()} to ${new Date(p.to).toISOString()} (is the recorder running?)`);
      const first = segments[0]!;
      const last = segments.at(-1)!;
      const end = Math.min(p.to, last.end);
      const made = await makeClip({
        ffmpegPath: this.deps.ffmpegPath,
        segments,
        durationS: Math.max(0.5, (end - first.start) / 1000),
        out: join(this.dir, `${p.trackId}.mp4`),
      });
      this.counters.made++;
      this.counters.bytes += made.bytes;
      const truncated = p.from > p.wantedFrom || first.start > p.from + this.segmentMs || last.end < p.to - this.segmentMs || hasGap(segments, this.segmentMs);
      this.deps.logger.debug({ trackId: p.trackId, durationS: made.durationS, bytes: made.bytes, segments: segments.length }, 'clip made');
      this.deps.onClip({
        camera: this.camera,
        trackId: p.trackId,
        label: p.label,
        // The file's own length back from its end: exact however well a segment's start was known.
        start: Math.round(end - made.durationS * 1000),
        end: Math.round(end),
        durationS: made.durationS,
        bytes: made.bytes,
        path: clipRoute(this.camera, p.trackId),
        ...(truncated && { truncated: true }),
      });
      this.retention(true);
    } catch (err) {
      this.counters.failed++;
      this.deps.logger.warn({ trackId: p.trackId, err: (err as Error).message }, 'clip not made');
    } finally {
      this.pending.delete(p.trackId);
    }
  }

  /** Where the ring may start: no open object, waiting clip or pre window needs what lies before. */
  keepFrom(): number {
    const now = this.now();
    const { preSeconds, postSeconds, maxSeconds } = this.config;
    let from = now - preSeconds * 1000 - this.segmentMs;
    for (const firstSeen of this.holds.values()) from = Math.min(from, firstSeen - preSeconds * 1000);
    for (const p of this.pending.values()) from = Math.min(from, p.from);
    // An object seen for hours gets its last maxSeconds: the ring never holds more than that.
    return Math.max(from, now - (maxSeconds + preSeconds + postSeconds) * 1000 - 2 * this.segmentMs);
  }

  private tick(): void {
    if (this.stopped) return;
    const status = this.recorder.status();
    const swept = this.ring.sweep(this.keepFrom(), status.liveRun);
    this.counters.segmentsDeleted += swept.deleted;
    // A recorder that writes nothing (a camera that stopped sending, ffmpeg stuck) is restarted.
    if (status.liveRun !== undefined) {
      const lastWrite = Math.max(this.ring.lastWriteAt() ?? 0, status.liveRun);
      const stallMs = this.deps.stallMs ?? Math.max(20_000, 4 * this.segmentMs);
      if (this.now() - lastWrite > stallMs) this.recorder.restart(`no video written for ${Math.round(stallMs / 1000)}s`);
      else if (lastWrite > status.liveRun) this.recorder.recovered();
    }
    this.retention(false);
  }

  /** Deletes finished clips older than retainHours, then the oldest while the camera's clips exceed maxBytes. */
  private retention(force: boolean): void {
    const now = this.now();
    if (!force && now - this.lastRetention < RETENTION_EVERY_MS) return;
    this.lastRetention = now;
    const clips: Array<{ path: string; mtime: number; bytes: number }> = [];
    let names: string[];
    try {
      names = readdirSync(this.dir);
    } catch {
      return;
    }
    for (const name of names) {
      if (!name.endsWith('.mp4')) continue;
      try {
        const st = statSync(join(this.dir, name));
        clips.push({ path: join(this.dir, name), mtime: st.mtimeMs, bytes: st.size });
      } catch {
        // Gone meanwhile.
      }
    }
    clips.sort((a, b) => a.mtime - b.mtime);
    const oldest = now - this.config.retainHours * 3_600_000;
    let total = clips.reduce((sum, c) => sum + c.bytes, 0);
    for (const c of clips) {
      if (c.mtime >= oldest && total <= this.config.maxBytes) break;
      try {
        unlinkSync(c.path);
        this.counters.clipsDeleted++;
        total -= c.bytes;
      } catch {
        // Gone meanwhile.
      }
    }
  }
}

/** `/api/cameras/<camera>/clip/<trackId>.mp4`, beside the snapshot route. */
export function clipRoute(camera: string, trackId: string): string {
  return `/api/cameras/${encodeURIComponent(camera)}/clip/${encodeURIComponent(trackId)}.mp4`;
}

/** Whether the recording has a hole between two segments (a recorder restart) of more than a segment. */
function hasGap(segments: readonly Segment[], segmentMs: number): boolean {
  for (let i = 1; i < segments.length; i++) if (segments[i]!.start - segments[i - 1]!.end > segmentMs) return true;
  return false;
}

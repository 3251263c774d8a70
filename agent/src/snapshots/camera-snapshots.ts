import type { Box } from '@kestrel/core/image/letterbox';
import type { Logger } from '@kestrel/core';
import type { CameraConfig } from '@kestrel/config';
import type { Frame } from '../source/types.js';
import { encodeRegionJpeg, pictureRegion } from '../sampling/frame-image.js';
import { dhashRgb } from '../sampling/dhash.js';
import { better, cutByEdge } from './best.js';
import { renderSnapshot, type CleanPicture, type RenderOptions } from './render.js';

export type SnapshotConfig = CameraConfig['snapshots'];

/** An object the tracker reported, as seen in the frame being handled. */
export interface SnapshotCandidate {
  /** The event life id (`DetectionEvent.trackId`). */
  trackId: string;
  label: string;
  /** This frame's score and box (source pixels). */
  score: number;
  box: Box;
}

/** A detection of the snapshot's frame, kept for the hub's pre-labels. */
export interface SnapshotDetection {
  label: string;
  score: number;
  box: Box;
}

/** The best picture of one object so far (or, once `endedAt` is set, for good). */
export interface Snapshot extends CleanPicture {
  camera: string;
  trackId: string;
  label: string;
  score: number;
  cut: boolean;
  /** Capture time of the frame the picture is from. */
  frameTime: number;
  /** Every reported detection of that frame. */
  detections: SnapshotDetection[];
  /** The picture's 64-bit dHash (16 hex digits), as samples carry it. */
  hash: string;
  endedAt?: number;
}

/** Where finished pictures go: MQTT (the rendered JPEG) and, when configured, the hub (the clean one, at the object's end). */
export interface SnapshotOutlet {
  publish(camera: string, label: string, jpeg: Buffer): void;
  /** Called once per ended object that had a picture, when `snapshots.upload` is on. */
  upload?(snapshot: Snapshot): void;
}

export interface SnapshotCounters {
  /** JPEGs made of a new best picture. */
  encoded: number;
  /** Better pictures not encoded because the encoder was busy with MAX_PENDING others. */
  droppedBusy: number;
  /** Encodes or renders that failed (logged). */
  failed: number;
}

/** Pictures being encoded at once per camera; a better picture arriving meanwhile is dropped (counted), never queued. */
const MAX_PENDING = 2;

interface Tracked {
  kept?: Snapshot;
  /** The score and cut of the picture being encoded, so the next frames compare with it. */
  pending?: { score: number; cut: boolean; box: Box; done: Promise<void> };
}

/**
 * One camera's snapshots: per reported object, the best picture seen so far as a clean JPEG of
 * the frame's picture region (at the model's input size: the frame the pipeline already has, no
 * second decode), made only when a better picture comes; published (retained) on the label's
 * snapshot topic each time; kept after the object's end for the HTTP route within
 * `retain.minutes` and `retain.count`. Memory is one JPEG per open object plus the retained ones.
 *
 * Frames must reach `consider` from CameraRuntime.handleDetections, after the privacy masks were
 * blanked: the picture is copied from that frame, so it never holds a masked pixel.
 */
export class CameraSnapshots {
  private readonly open = new Map<string, Tracked>();
  /** Ended objects' pictures, oldest first. */
  private readonly ended: Snapshot[] = [];
  private pending = 0;
  readonly counters: SnapshotCounters = { encoded: 0, droppedBusy: 0, failed: 0 };

  constructor(
    private readonly camera: string,
    private readonly config: SnapshotConfig,
    private readonly outlet: SnapshotOutlet,
    private readonly logger: Logger,
    private readonly now: () => number = Date.now,
  ) {}

  /** One handled frame and the reported objects seen in it, with every reported detection of the frame. */
  consider(frame: Frame, candidates: readonly SnapshotCandidate[], detections: readonly SnapshotDetection[]): void {
    const g = frame.geometry;
    let pixels: Uint8Array | undefined;
    for (const c of candidates) {
      let tracked = this.open.get(c.trackId);
      if (!tracked) this.open.set(c.trackId, (tracked = {}));
      const cut = cutByEdge(c.box, g.srcWidth, g.srcHeight);
      const next = { score: c.score, box: c.box, cut };
      if (!better(next, tracked.pending ?? tracked.kept)) continue;
      if (tracked.pending || this.pending >= MAX_PENDING) {
        this.counters.droppedBusy++;
        continue;
      }
      // One copy per frame however many objects it improves: the frame's buffer goes on to a worker after this.
      pixels ??= frame.data.slice();
      const region = pictureRegion(g);
      const base = {
        camera: this.camera, trackId: c.trackId, label: c.label, score: c.score, cut, box: [...c.box] as Box,
        frameTime: frame.capturedAt, frameSize: [g.srcWidth, g.srcHeight] as [number, number], imageSize: [region.width, region.height] as [number, number],
        detections: detections.map((d) => ({ label: d.label, score: d.score, box: [...d.box] as Box })),
        hash: dhashRgb(pixels, frame.width, region),
      };
      this.pending++;
      const own = tracked;
      const done = encodeRegionJpeg(pixels, frame.width, frame.height, region, this.config.quality)
        .then((jpeg) => {
          this.counters.encoded++;
          own.kept = { ...base, jpeg };
          return this.publish(own.kept);
        })
        .catch((err: Error) => {
          this.counters.failed++;
          this.logger.warn({ err: err.message, trackId: c.trackId }, 'snapshot not made');
        })
        .finally(() => {
          this.pending--;
          if (own.pending?.done === done) own.pending = undefined;
        });
      tracked.pending = { score: c.score, cut, box: c.box, done };
    }
  }

  /** The object's `end`: its picture is final (after any encode in progress), kept for the HTTP route and, when configured, sent to the hub. */
  end(trackId: string): void {
    const tracked = this.open.get(trackId);
    if (!tracked) return;
    this.open.delete(trackId);
    const finish = () => {
      const snap = tracked.kept;
      if (!snap) return;
      snap.endedAt = this.now();
      this.ended.push(snap);
      this.expire();
      if (this.config.upload) this.outlet.upload?.(snap);
    };
    if (tracked.pending) void tracked.pending.done.then(finish);
    else finish();
  }

  /**
   * The picture for the HTTP route: by event id (`trackId`), or by label, the latest object of it
   * (an open one first, then the most recently ended).
   */
  find(key: string): Snapshot | undefined {
    this.expire();
    for (const t of this.open.values()) if (t.kept?.trackId === key) return t.kept;
    const byId = this.ended.find((s) => s.trackId === key);
    if (byId) return byId;
    let latest: Snapshot | undefined;
    for (const t of this.open.values()) {
      if (t.kept?.label === key && (!latest || t.kept.frameTime > latest.frameTime)) latest = t.kept;
    }
    if (latest) return latest;
    for (let i = this.ended.length - 1; i >= 0; i--) if (this.ended[i].label === key) return this.ended[i];
    return undefined;
  }

  /** A picture rendered as asked, the config's box and crop where the caller says nothing. */
  render(snapshot: Snapshot, options: Partial<Pick<RenderOptions, 'drawBox' | 'crop'>> = {}): Promise<Buffer> {
    return renderSnapshot(snapshot, { drawBox: options.drawBox ?? this.config.drawBox, crop: options.crop ?? this.config.crop, quality: this.config.quality });
  }

  /** Resolves when every encode started so far has finished (tests, stop). */
  async settled(): Promise<void> {
    await Promise.all([...this.open.values()].map((t) => t.pending?.done));
  }

  stats(): SnapshotCounters & { open: number; kept: number } {
    return { ...this.counters, open: this.open.size, kept: this.ended.length };
  }

  private async publish(snapshot: Snapshot): Promise<void> {
    const jpeg = await this.render(snapshot);
    this.outlet.publish(this.camera, snapshot.label, jpeg);
  }

  private expire(): void {
    const oldest = this.now() - this.config.retain.minutes * 60_000;
    while (this.ended.length > 0 && (this.ended.length > this.config.retain.count || this.ended[0].endedAt! < oldest)) this.ended.shift();
  }
}

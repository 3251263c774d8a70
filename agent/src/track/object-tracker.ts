import type { Detection } from '@kestrel/core/detect/types';
import { KestrelError } from '@kestrel/core/util/errors';
import type { CameraConfig } from '@kestrel/config';
import { EventLifecycle, type EventOptions, type OpenTrack, type TrackEvent } from './events.js';
import { DetectionFilter } from './filter.js';
import { Tracker, type Track } from './tracker.js';

export interface ObjectTrackerOptions {
  camera: string;
  /** The camera's filters: classes, minScore (confident detections), minArea, zones. */
  filters: CameraConfig['filters'];
  /** The camera's tracker settings, as the config parsed them (defaults filled in). */
  tracker: CameraConfig['tracker'];
  /** Drop boxes larger than this many source pixels² (not a config setting; tests and benches). */
  maxArea?: number;
  /** See EventOptions: updateIntervalMs, scoreImprovement, moveFraction, requiredZones. */
  events?: EventOptions;
  /** Event id factory, for tests; default `<firstSeen>-<random hex>`. */
  eventId?: (firstSeen: number) => string;
}

/**
 * One camera's way from detections to events: class/score/size filters → tracker → zones and
 * event life cycle. Give it each processed frame's detections, boxes in source pixels:
 *
 *   const events = tracker.update(detections, frame.capturedAt);
 *   ...
 *   const last = tracker.flush(Date.now()); // camera or agent stopping: ends every open event
 */
export class ObjectTracker {
  readonly camera: string;
  private readonly filter: DetectionFilter;
  private readonly tracker: Tracker;
  private readonly lifecycle: EventLifecycle;
  private framesSeen = 0;
  private lastAssigned = new Map<Detection, Track>();

  constructor(options: ObjectTrackerOptions) {
    validate(options);
    const { filters, tracker } = options;
    this.camera = options.camera;
    // Below the tracker's lowScore a detection can serve nothing: dropped before tracking.
    this.filter = new DetectionFilter({ classes: filters.classes, lowScore: tracker.lowScore, minArea: filters.minArea, maxArea: options.maxArea });
    this.tracker = new Tracker({ ...tracker, minScore: filters.minScore });
    this.lifecycle = new EventLifecycle(options.camera, filters.zones, options.events, options.eventId);
  }

  /** One processed frame: its detections (source pixels) and its capture time (epoch ms). */
  update(detections: readonly Detection[], frameTime: number): TrackEvent[] {
    this.framesSeen++;
    const step = this.tracker.update(this.filter.apply(detections), frameTime);
    this.lastAssigned = step.assigned;
    return this.lifecycle.update(step, frameTime);
  }

  /** The event life id (`TrackEvent.id`) of the reported track a detection of the latest frame went to. */
  trackIdOf(detection: Detection): string | undefined {
    const track = this.lastAssigned.get(detection);
    return track ? this.lifecycle.lifeId(track.id) : undefined;
  }

  /** Ends every open event (reason `stopped`) and forgets all tracks. */
  flush(frameTime: number): TrackEvent[] {
    this.lastAssigned = new Map();
    return this.lifecycle.flush(this.tracker.reset(), frameTime);
  }

  /** Confirmed tracks seen in the latest frame. */
  visibleTracks(): Track[] {
    return this.tracker.active.filter((t) => t.confirmed && t.missed === 0);
  }

  /** Reported tracks (a `new` and no `end` yet) matched in the latest frame, with their event life id: what a snapshot may show. */
  reportedInFrame(): { trackId: string; label: string; score: number; box: Track['box'] }[] {
    return this.visibleTracks().flatMap((t) => {
      const trackId = this.lifecycle.lifeId(t.id);
      return trackId ? [{ trackId, label: t.label, score: t.score, box: t.box }] : [];
    });
  }

  /**
   * Whether a frame skipped now could cost an event or a track: a tentative track (waiting for
   * its confirming sightings), a moving one, or a lost one that is not stationary (it must be
   * found again, or end, within its short lost time). Stationary tracks can wait for a recheck.
   */
  needsEveryFrame(): boolean {
    return this.tracker.active.some((t) => !t.stationary);
  }

  /** Tracks that have had their `new` and no `end` yet, as they stand now. */
  openTracks(): OpenTrack[] {
    return this.lifecycle.open();
  }

  /** Grows by one whenever a track is announced or ended. */
  get openChanges(): number {
    return this.lifecycle.openChanges;
  }

  stats(): { frames: number; filteredOut: number; liveTracks: number; openEvents: number } {
    return { frames: this.framesSeen, filteredOut: this.filter.droppedCount, liveTracks: this.tracker.active.length, openEvents: this.lifecycle.openCount };
  }
}

/**
 * What the config's types cannot say. Zones are the config's (checked there: points, names);
 * `requiredZones` and the area range come from code, so they are checked here.
 */
function validate(o: ObjectTrackerOptions): void {
  const fail = (field: string, message: string) => new KestrelError('E_TRACK_OPTIONS', `camera "${o.camera}": ${field}: ${message}`, { camera: o.camera, field });
  if (typeof o.camera !== 'string' || o.camera.trim() === '') throw new KestrelError('E_TRACK_OPTIONS', `camera name must be a non-empty string, got ${JSON.stringify(o.camera)}`);
  const e = o.events ?? {};
  if (e.updateIntervalMs !== undefined && !(e.updateIntervalMs >= 0)) throw fail('events.updateIntervalMs', `must be ≥ 0, got ${e.updateIntervalMs}`);
  const named = (err: unknown) => new KestrelError('E_TRACK_OPTIONS', `camera "${o.camera}": ${(err as Error).message}`, { camera: o.camera });
  const names = new Set(o.filters.zones.map((z) => z.name));
  for (const z of e.requiredZones ?? []) {
    if (!names.has(z)) throw fail('events.requiredZones', `zone "${z}" is not defined (defined: ${[...names].join(', ') || 'none'})`);
  }
  // The filter validates classes and area ranges itself; re-throw with the camera named.
  try {
    new DetectionFilter({ classes: o.filters.classes, minArea: o.filters.minArea, maxArea: o.maxArea });
  } catch (err) {
    throw named(err);
  }
}

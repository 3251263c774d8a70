import type { Detection } from '@kestrel/core/detect/types';
import { KestrelError } from '@kestrel/core/util/errors';
import { EventLifecycle, type EventOptions, type TrackEvent } from './events.js';
import { DetectionFilter } from './filter.js';
import { DEFAULT_TRACKER, Tracker, type Track, type TrackerOptions } from './tracker.js';
import { validateZones, type Zone } from './zones.js';

export interface ObjectTrackerOptions {
  camera: string;
  /** Labels to report; undefined reports every class. */
  classes?: string[];
  /** Score a detection needs to start a track (the camera's "min score"). Default 0.5. */
  minScore?: number;
  /**
   * Weaker detections, down to this score, keep existing tracks alive (ByteTrack); run the
   * detector with a threshold this low to benefit. Default min(0.1, minScore).
   */
  lowScore?: number;
  /** Least box area in source pixels². Default 0. */
  minArea?: number;
  maxArea?: number;
  /** Zones, polygons in source pixels; objects are placed by their bottom centre. */
  zones?: Zone[];
  /** See TrackerOptions: minHits, maxAge, matchIou, lowMatchIou, maxPredictMs. */
  tracker?: Omit<TrackerOptions, 'highScore' | 'lowScore'>;
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

  constructor(options: ObjectTrackerOptions) {
    validate(options);
    this.camera = options.camera;
    const minScore = options.minScore ?? DEFAULT_TRACKER.highScore;
    const lowScore = options.lowScore ?? Math.min(DEFAULT_TRACKER.lowScore, minScore);
    this.filter = new DetectionFilter({ classes: options.classes, minScore: lowScore, minArea: options.minArea, maxArea: options.maxArea });
    this.tracker = new Tracker({ ...options.tracker, highScore: minScore, lowScore });
    const zones = options.zones ?? [];
    this.lifecycle = new EventLifecycle(options.camera, zones, options.events, options.eventId);
  }

  /** One processed frame: its detections (source pixels) and its capture time (epoch ms). */
  update(detections: readonly Detection[], frameTime: number): TrackEvent[] {
    this.framesSeen++;
    const step = this.tracker.update(this.filter.apply(detections), frameTime);
    return this.lifecycle.update(step, frameTime);
  }

  /** Ends every open event (reason `stopped`) and forgets all tracks. */
  flush(frameTime: number): TrackEvent[] {
    return this.lifecycle.flush(this.tracker.reset(), frameTime);
  }

  /** Confirmed tracks seen in the latest frame (for per-frame detection messages with ids). */
  visibleTracks(): Track[] {
    return this.tracker.active.filter((t) => t.confirmed && t.missed === 0);
  }

  stats(): { frames: number; filteredOut: number; liveTracks: number; openEvents: number } {
    return { frames: this.framesSeen, filteredOut: this.filter.droppedCount, liveTracks: this.tracker.active.length, openEvents: this.lifecycle.openCount };
  }
}

function validate(o: ObjectTrackerOptions): void {
  const fail = (field: string, message: string) => new KestrelError('E_TRACK_OPTIONS', `camera "${o.camera}": ${field}: ${message}`, { camera: o.camera, field });
  if (typeof o.camera !== 'string' || o.camera.trim() === '') throw new KestrelError('E_TRACK_OPTIONS', `camera name must be a non-empty string, got ${JSON.stringify(o.camera)}`);
  if (o.minScore !== undefined && !(o.minScore > 0 && o.minScore <= 1)) throw fail('minScore', `must be within (0, 1], got ${o.minScore}`);
  if (o.lowScore !== undefined && !(o.lowScore > 0 && o.lowScore <= (o.minScore ?? DEFAULT_TRACKER.highScore))) throw fail('lowScore', `must be within (0, minScore], got ${o.lowScore}`);
  const t = o.tracker ?? {};
  if (t.minHits !== undefined && !(Number.isInteger(t.minHits) && t.minHits >= 1)) throw fail('tracker.minHits', `must be a whole number ≥ 1, got ${t.minHits}`);
  if (t.maxAge !== undefined && !(Number.isInteger(t.maxAge) && t.maxAge >= 1)) throw fail('tracker.maxAge', `must be a whole number ≥ 1 (frames), got ${t.maxAge}`);
  for (const key of ['matchIou', 'lowMatchIou'] as const) {
    const v = t[key];
    if (v !== undefined && !(v > 0 && v <= 1)) throw fail(`tracker.${key}`, `must be within (0, 1], got ${v}`);
  }
  const e = o.events ?? {};
  if (e.updateIntervalMs !== undefined && !(e.updateIntervalMs >= 0)) throw fail('events.updateIntervalMs', `must be ≥ 0, got ${e.updateIntervalMs}`);
  const named = (err: unknown) => new KestrelError('E_TRACK_OPTIONS', `camera "${o.camera}": ${(err as Error).message}`, { camera: o.camera });
  try {
    validateZones(o.zones ?? []);
  } catch (err) {
    throw named(err);
  }
  const names = new Set((o.zones ?? []).map((z) => z.name));
  for (const z of e.requiredZones ?? []) {
    if (!names.has(z)) throw fail('events.requiredZones', `zone "${z}" is not defined (defined: ${[...names].join(', ') || 'none'})`);
  }
  // The filter validates classes/area ranges itself; re-throw with the camera named.
  try {
    new DetectionFilter({ classes: o.classes, minArea: o.minArea, maxArea: o.maxArea });
  } catch (err) {
    throw named(err);
  }
}

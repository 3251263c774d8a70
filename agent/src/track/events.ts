import { randomBytes } from 'node:crypto';
import type { Box } from '@kestrel/core/image/letterbox';
import type { Track, TrackerStep } from './tracker.js';
import { zonesOf, type Zone } from './zones.js';

export type TrackEventType = 'new' | 'update' | 'end';

/**
 * Why an event was sent: `confirmed` (new), `zones` (entered or left a zone), `score` (best score
 * rose notably), `moved` (moved notably), `lost` (end: unseen for the lost time), `stopped`
 * (end: the camera or agent stopped), `restart` (end: open when the agent died, ended at the next start).
 */
export type TrackEventReason = 'confirmed' | 'zones' | 'score' | 'moved' | 'lost' | 'stopped' | 'restart';

/** What is remembered of an announced track, enough for its `end` after a restart. */
export interface OpenTrack {
  /** The event life id (`TrackEvent.id`). */
  id: string;
  label: string;
  classId: number;
  score: number;
  bestScore: number;
  box: Box;
  zones: string[];
  firstSeen: number;
  lastSeen: number;
}

/** One step in the life of a tracked object. The lead maps these to the MQTT event payload. */
export interface TrackEvent {
  /** One id per track life, shared by its new, updates and end: `<firstSeen ms>-<8 hex>`. Consumers de-duplicate on (id, type, frameTime). */
  id: string;
  type: TrackEventType;
  reason: TrackEventReason;
  camera: string;
  trackId: number;
  classId: number;
  label: string;
  /** The best score over the track's life so far (stable: one blurred frame does not lower it). */
  score: number;
  /** The score of the latest matched detection. */
  currentScore: number;
  /** Latest matched box, [x1, y1, x2, y2] in source pixels. */
  box: Box;
  /** Zones the object stands in now (at `end`: where it was last seen). */
  zones: string[];
  /** Zones entered and left since this track's previous event (empty at `end`). */
  enteredZones: string[];
  leftZones: string[];
  /** Epoch ms of the first and last frames in which the object was detected. */
  firstSeen: number;
  lastSeen: number;
  /** Epoch ms of the frame whose processing produced this event. */
  frameTime: number;
}

export interface EventOptions {
  /**
   * Least time between two `update`s for score or motion; zone changes are sent at once.
   * A steady object sends no updates at all. Default 2000 ms.
   */
  updateIntervalMs?: number;
  /** Best-score rise since the last event that is worth an update. Default 0.05. */
  scoreImprovement?: number;
  /** Centre movement since the last event, as a fraction of the box's longer side, worth an update. Default 0.25. */
  moveFraction?: number;
  /** Report only objects that have stood in one of these zones (the `new` waits until they do). */
  requiredZones?: string[];
}

export const DEFAULT_EVENTS: Required<Omit<EventOptions, 'requiredZones'>> = {
  updateIntervalMs: 2000,
  scoreImprovement: 0.05,
  moveFraction: 0.25,
};

/** What was last told about a track. */
interface Announced {
  id: string;
  track: Track;
  at: number;
  score: number;
  box: Box;
  zones: string[];
}

/**
 * Turns tracker steps into `new` / `update` / `end` events, per camera. Throttling runs on frame
 * time, not the wall clock, so it is deterministic and follows the camera.
 */
export class EventLifecycle {
  private readonly announced = new Map<number, Announced>();
  private readonly options: Required<Omit<EventOptions, 'requiredZones'>>;
  private readonly required: Set<string> | undefined;
  private readonly lastZones = new Map<number, string[]>();
  private changes = 0;

  constructor(
    private readonly camera: string,
    private readonly zones: readonly Zone[] = [],
    options: EventOptions = {},
    private readonly newId: (firstSeen: number) => string = defaultEventId,
  ) {
    this.options = { ...DEFAULT_EVENTS, ...options };
    this.required = options.requiredZones?.length ? new Set(options.requiredZones) : undefined;
  }

  /** Events for one frame's tracker step. */
  update(step: TrackerStep, frameTime: number): TrackEvent[] {
    const events: TrackEvent[] = [];
    for (const track of step.matched) {
      if (!track.confirmed) continue;
      const zones = zonesOf(track.box, this.zones);
      this.lastZones.set(track.id, zones);
      const told = this.announced.get(track.id);
      if (!told) {
        if (this.required && !zones.some((z) => this.required!.has(z))) continue;
        const id = this.newId(track.firstSeen);
        events.push(this.event(id, 'new', 'confirmed', track, zones, [], frameTime));
        this.announced.set(track.id, { id, track, at: frameTime, score: track.bestScore, box: [...track.box], zones });
        this.changes++;
        continue;
      }
      const reason = this.updateReason(track, told, zones, frameTime);
      if (reason) {
        events.push(this.event(told.id, 'update', reason, track, zones, told.zones, frameTime));
        Object.assign(told, { at: frameTime, score: track.bestScore, box: [...track.box], zones });
      }
    }
    for (const track of step.ended) events.push(...this.end(track, 'lost', frameTime));
    return events;
  }

  /** `end` events for these tracks (the camera stops): every announced one ends with reason `stopped`. */
  flush(tracks: readonly Track[], frameTime: number): TrackEvent[] {
    const events = tracks.flatMap((t) => this.end(t, 'stopped', frameTime));
    if (this.announced.size) this.changes++;
    this.announced.clear();
    this.lastZones.clear();
    return events;
  }

  /** Tracks that have had a `new` and no `end` yet. */
  get openCount(): number {
    return this.announced.size;
  }

  /** The announced tracks as they stand now. */
  open(): OpenTrack[] {
    return [...this.announced.values()].map(({ id, track }) => ({
      id,
      label: track.label,
      classId: track.classId,
      score: track.score,
      bestScore: track.bestScore,
      box: [...track.box],
      zones: this.lastZones.get(track.id) ?? [],
      firstSeen: track.firstSeen,
      lastSeen: track.lastSeen,
    }));
  }

  /** Counts `new`s and `end`s: a change of the open set (what must be persisted at once). */
  get openChanges(): number {
    return this.changes;
  }

  /** The event life id of a track that has had its `new`. */
  lifeId(trackId: number): string | undefined {
    return this.announced.get(trackId)?.id;
  }

  private end(track: Track, reason: 'lost' | 'stopped', frameTime: number): TrackEvent[] {
    const told = this.announced.get(track.id);
    const zones = this.lastZones.get(track.id) ?? [];
    this.announced.delete(track.id);
    this.lastZones.delete(track.id);
    if (!told) return [];
    this.changes++;
    return [this.event(told.id, 'end', reason, track, zones, told.zones, frameTime)];
  }

  private updateReason(track: Track, told: Announced, zones: string[], frameTime: number): TrackEventReason | undefined {
    if (!sameSet(zones, told.zones)) return 'zones';
    if (frameTime - told.at < this.options.updateIntervalMs) return undefined;
    if (track.bestScore >= told.score + this.options.scoreImprovement) return 'score';
    const side = Math.max(told.box[2] - told.box[0], told.box[3] - told.box[1]);
    const [cx0, cy0] = [(told.box[0] + told.box[2]) / 2, (told.box[1] + told.box[3]) / 2];
    const [cx1, cy1] = [(track.box[0] + track.box[2]) / 2, (track.box[1] + track.box[3]) / 2];
    if (Math.hypot(cx1 - cx0, cy1 - cy0) >= this.options.moveFraction * side) return 'moved';
    return undefined;
  }

  private event(id: string, type: TrackEventType, reason: TrackEventReason, track: Track, zones: string[], previousZones: string[], frameTime: number): TrackEvent {
    return {
      id,
      type,
      reason,
      camera: this.camera,
      trackId: track.id,
      classId: track.classId,
      label: track.label,
      score: track.bestScore,
      currentScore: track.score,
      box: [...track.box],
      zones: [...zones],
      // Zone changes are sent at once, so an end never carries news about zones.
      enteredZones: type === 'end' ? [] : zones.filter((z) => !previousZones.includes(z)),
      leftZones: type === 'end' ? [] : previousZones.filter((z) => !zones.includes(z)),
      firstSeen: track.firstSeen,
      lastSeen: track.lastSeen,
      frameTime,
    };
  }
}

/** `<firstSeen ms>-<8 hex>`: sortable by start, unique without coordination between devices' cameras. */
export function defaultEventId(firstSeen: number): string {
  return `${Math.round(firstSeen)}-${randomBytes(4).toString('hex')}`;
}

function sameSet(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((x) => b.includes(x));
}

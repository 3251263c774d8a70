import type { DetectionEvent } from '@kestrel/core';

export interface LabelCount {
  camera: string;
  label: string;
  count: number;
}

/**
 * Open tracks per camera and label, derived from the typed events alone (`new` opens, `end`
 * closes, an `update` that changes the label, as a vote across confusable classes may, moves the
 * track): what Home Assistant's "<label> detected" and count entities show.
 */
export class OpenTracks {
  /** camera → track id → label */
  private readonly tracks = new Map<string, Map<string, string>>();

  /** Takes one event; returns the counts it changed. */
  event(event: DetectionEvent): LabelCount[] {
    const { camera, trackId, label } = event;
    const open = this.tracks.get(camera) ?? new Map<string, string>();
    this.tracks.set(camera, open);
    const before = open.get(trackId);
    if (event.type === 'end') {
      if (before === undefined) return [];
      open.delete(trackId);
      return [this.countOf(camera, before)];
    }
    // `update` of a track not seen opening (events are at least once) still counts as open.
    if (before === label) return [];
    open.set(trackId, label);
    const changed = [this.countOf(camera, label)];
    if (before !== undefined) changed.unshift(this.countOf(camera, before));
    return changed;
  }

  count(camera: string, label: string): number {
    let n = 0;
    for (const l of this.tracks.get(camera)?.values() ?? []) if (l === label) n++;
    return n;
  }

  /** Labels with an open track on the camera now. */
  labels(camera: string): string[] {
    return [...new Set(this.tracks.get(camera)?.values() ?? [])];
  }

  /** A camera removed: its tracks ended already (their `end` events came first). */
  forget(camera: string): void {
    this.tracks.delete(camera);
  }

  private countOf(camera: string, label: string): LabelCount {
    return { camera, label, count: this.count(camera, label) };
  }
}

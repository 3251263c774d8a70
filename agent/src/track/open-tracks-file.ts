import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { OpenTrack } from './events.js';

/** The file's shape; `schema` changes only when an older agent would misread it. */
interface OpenTracksDocument {
  schema: 1;
  camera: string;
  savedAt: number;
  tracks: OpenTrack[];
}

/** A track's latest box and times are saved at most this often; a `new` or an `end` at once. */
const SAVE_INTERVAL_MS = 1000;

/**
 * One camera's announced tracks on disk (`<stateDir>/tracks/<camera>.json`), so that the tracks
 * open when the agent died (kill -9, power cut) get their `end` at the next start: without it a
 * consumer holds "person in the yard" forever. Small (a few hundred bytes a track) and written
 * whole to a temporary file then renamed, so a crash mid-write leaves the previous version.
 */
export class OpenTracksFile {
  private savedChanges = -1;
  private savedAt = 0;
  private savedEmpty = false;
  private failing = false;

  /**
   * `onError` hears the first failure to write or remove the file (a read-only or full state
   * folder) and nothing more until a write succeeds again: detection goes on without it, as it
   * does with an in-memory outbox; only the restart ends are lost.
   */
  constructor(
    private readonly path: string,
    private readonly camera: string,
    private readonly onError: (err: Error) => void = () => undefined,
  ) {}

  /** The tracks the last run left open; none when the file is missing or unreadable. */
  read(): OpenTrack[] {
    let text: string;
    try {
      text = readFileSync(this.path, 'utf8');
    } catch {
      return [];
    }
    try {
      const doc = JSON.parse(text) as Partial<OpenTracksDocument>;
      if (doc.schema !== 1 || !Array.isArray(doc.tracks)) return [];
      return doc.tracks.filter(isOpenTrack);
    } catch {
      return [];
    }
  }

  /**
   * Saves when the open set changed (`changes` differs from the last save) or, while tracks are
   * open, when the last save is a second old. `now` is the wall clock (the throttle is about disk).
   */
  save(tracks: readonly OpenTrack[], changes: number, now: number): void {
    const changed = changes !== this.savedChanges;
    if (!changed && (tracks.length === 0 || now - this.savedAt < SAVE_INTERVAL_MS)) return;
    // Marked saved even when the write fails, so a broken disk is tried once a second, not every frame.
    this.savedChanges = changes;
    this.savedAt = now;
    if (tracks.length === 0) {
      this.clear();
      return;
    }
    const doc: OpenTracksDocument = { schema: 1, camera: this.camera, savedAt: now, tracks: [...tracks] };
    this.attempt(() => {
      mkdirSync(dirname(this.path), { recursive: true });
      const tmp = `${this.path}.tmp`;
      writeFileSync(tmp, JSON.stringify(doc));
      renameSync(tmp, this.path);
      this.savedEmpty = false;
    });
  }

  /** Nothing open: the file goes (once). */
  clear(): void {
    if (this.savedEmpty) return;
    this.attempt(() => {
      rmSync(this.path, { force: true });
      this.savedEmpty = true;
    });
  }

  private attempt(write: () => void): void {
    try {
      write();
      this.failing = false;
    } catch (err) {
      if (!this.failing) this.onError(err as Error);
      this.failing = true;
    }
  }
}

function isOpenTrack(t: unknown): t is OpenTrack {
  if (typeof t !== 'object' || t === null) return false;
  const o = t as Record<string, unknown>;
  return (
    typeof o.id === 'string' &&
    typeof o.label === 'string' &&
    typeof o.score === 'number' &&
    Array.isArray(o.box) &&
    o.box.length === 4 &&
    Array.isArray(o.zones) &&
    typeof o.firstSeen === 'number' &&
    typeof o.lastSeen === 'number'
  );
}

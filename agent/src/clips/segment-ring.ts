import { mkdirSync, readdirSync, statSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';

/** One MPEG-TS segment the recorder wrote, with the wall-clock time it covers. */
export interface Segment {
  path: string;
  name: string;
  /** The recorder run (its ffmpeg's spawn time, epoch ms) and the segment's number in it. */
  run: number;
  seq: number;
  /** Epoch ms: the end is the file's last write, the start the previous segment's end in the run. */
  start: number;
  end: number;
  bytes: number;
  /** ffmpeg has moved on to a later segment (or the run is over): the file will not grow. */
  closed: boolean;
}

/** `<run ms>-<6-digit seq>.ts`, what RingRecorder asks the segment muxer for. */
const SEGMENT_NAME = /^(\d{13})-(\d{6})\.ts$/;

/** The muxer's file pattern for one run. */
export function segmentPattern(dir: string, run: number): string {
  return join(dir, `${run}-%06d.ts`);
}

/**
 * The recorder's folder of segments (`<stateDir>/clips/<camera>/ring/`). Times come from the
 * files themselves: ffmpeg closes a segment when the next one's first keyframe arrives, so a
 * file's mtime is its end, and the previous segment's end is its start. Nothing else needs to
 * be kept, so segments written before a restart of the agent are understood the same way.
 */
export class SegmentRing {
  /** Ends of segments seen before, by name: a segment's start stays known once its predecessor is deleted. */
  private readonly ends = new Map<string, number>();

  constructor(
    readonly dir: string,
    /** A segment's nominal length, for the rare start that cannot be read from a predecessor. */
    private readonly segmentMs: number,
  ) {}

  ensure(): void {
    mkdirSync(this.dir, { recursive: true });
  }

  /**
   * Every segment, oldest first. `liveRun` is the run whose ffmpeg is writing now: its newest
   * segment is still open.
   */
  list(liveRun?: number): Segment[] {
    let names: string[];
    try {
      names = readdirSync(this.dir);
    } catch {
      return [];
    }
    const found: Array<Omit<Segment, 'start' | 'closed'>> = [];
    for (const name of names) {
      const m = SEGMENT_NAME.exec(name);
      if (!m) continue;
      const path = join(this.dir, name);
      try {
        const st = statSync(path);
        found.push({ path, name, run: Number(m[1]), seq: Number(m[2]), end: st.mtimeMs, bytes: st.size });
      } catch {
        // Deleted between the listing and the stat: not there.
      }
    }
    found.sort((a, b) => a.run - b.run || a.seq - b.seq);
    const present = new Set(found.map((s) => s.name));
    for (const name of this.ends.keys()) if (!present.has(name) && !this.isPredecessorOfPresent(name, present)) this.ends.delete(name);
    const segments: Segment[] = [];
    for (let i = 0; i < found.length; i++) {
      const s = found[i]!;
      const prev = i > 0 && found[i - 1]!.run === s.run && found[i - 1]!.seq === s.seq - 1 ? found[i - 1]!.end : this.ends.get(nameOf(s.run, s.seq - 1));
      const start = s.seq === 0 ? s.run : (prev ?? s.end - this.segmentMs);
      const next = found[i + 1];
      const closed = s.run !== liveRun || (next !== undefined && next.run === s.run);
      this.ends.set(s.name, s.end);
      segments.push({ ...s, start: Math.min(start, s.end), closed });
    }
    return segments;
  }

  /**
   * Deletes the closed segments that end before `keepFrom` (epoch ms), oldest first; an open
   * segment is never deleted (ffmpeg still writes it).
   */
  sweep(keepFrom: number, liveRun?: number): { deleted: number; bytes: number } {
    let deleted = 0;
    let bytes = 0;
    for (const s of this.list(liveRun)) {
      if (!s.closed || s.end >= keepFrom) continue;
      try {
        unlinkSync(s.path);
        deleted++;
        bytes += s.bytes;
      } catch {
        // Already gone.
      }
    }
    return { deleted, bytes };
  }

  /** The newest segment's last write (epoch ms), or undefined when there is none. */
  lastWriteAt(): number | undefined {
    let newest: number | undefined;
    for (const s of this.list()) if (newest === undefined || s.end > newest) newest = s.end;
    return newest;
  }

  /** A deleted segment's end is still wanted while the one after it is there. */
  private isPredecessorOfPresent(name: string, present: Set<string>): boolean {
    const m = SEGMENT_NAME.exec(name);
    return m !== null && present.has(nameOf(Number(m[1]), Number(m[2]) + 1));
  }
}

function nameOf(run: number, seq: number): string {
  return `${run}-${String(seq).padStart(6, '0')}.ts`;
}

/** The segments that cover [from, to] (epoch ms), oldest first. */
export function covering(segments: readonly Segment[], from: number, to: number): Segment[] {
  return segments.filter((s) => s.end > from && s.start < to);
}

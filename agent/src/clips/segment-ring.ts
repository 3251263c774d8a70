import { mkdirSync, readdirSync, readFileSync, rmSync, statSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';

/** One MPEG-TS segment the recorder wrote, with the wall-clock time it covers. */
export interface Segment {
  path: string;
  name: string;
  /** The recorder run (its ffmpeg's spawn time, epoch ms) and the segment's number in it. */
  run: number;
  seq: number;
  /** Epoch ms: the end is the file's last write, the start that less the segment's length in the run's list. */
  start: number;
  end: number;
  bytes: number;
  /** ffmpeg has moved on to a later segment (or the run is over): the file will not grow. */
  closed: boolean;
}

/** `<run ms>-<6-digit seq>.ts`, what RingRecorder asks the segment muxer for, and the run's segment list. */
const SEGMENT_NAME = /^(\d{13})-(\d{6})\.ts$/;
const LIST_NAME = /^(\d{13})\.csv$/;

/** The muxer's file pattern for one run. */
export function segmentPattern(dir: string, run: number): string {
  return join(dir, `${run}-%06d.ts`);
}

/** The run's segment list (`-segment_list … -segment_list_type csv`): one `name,start,end` line per closed segment. */
export function segmentListPath(dir: string, run: number): string {
  return join(dir, `${run}.csv`);
}

/**
 * The recorder's folder of segments (`<stateDir>/clips/<camera>/ring/`). Times come from the
 * files themselves: ffmpeg closes a segment when the next one's first keyframe arrives, so a
 * file's mtime is its end (wall clock), and the run's segment list gives its exact length in
 * stream time, hence its start. Nothing else needs to be kept, so segments written before a
 * restart of the agent are understood the same way.
 */
export class SegmentRing {
  /** Lengths (ms) of closed segments read from the runs' lists, by name. */
  private readonly lengths = new Map<string, number>();
  /** Each list's mtime when last read: a list is read again only when ffmpeg rewrote it. */
  private readonly listRead = new Map<number, number>();

  constructor(
    readonly dir: string,
    /** A segment's nominal length, for the rare start that neither the list nor a predecessor gives. */
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
    const runs = new Set<number>();
    for (const name of names) {
      const list = LIST_NAME.exec(name);
      if (list) runs.add(Number(list[1]));
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
    for (const run of runs) this.readList(run);
    found.sort((a, b) => a.run - b.run || a.seq - b.seq);
    const present = new Set(found.map((s) => s.name));
    for (const name of this.lengths.keys()) if (!present.has(name)) this.lengths.delete(name);
    const segments: Segment[] = [];
    for (let i = 0; i < found.length; i++) {
      const s = found[i]!;
      const length = this.lengths.get(s.name);
      const prev = i > 0 && found[i - 1]!.run === s.run && found[i - 1]!.seq === s.seq - 1 ? found[i - 1]!.end : undefined;
      const next = found[i + 1];
      const closed = length !== undefined || s.run !== liveRun || (next !== undefined && next.run === s.run);
      const start = length !== undefined ? s.end - length : (prev ?? (s.seq === 0 ? s.run : s.end - this.segmentMs));
      segments.push({ ...s, start: Math.min(start, s.end), closed });
    }
    return segments;
  }

  /**
   * Deletes the closed segments that end before `keepFrom` (epoch ms), oldest first, and the lists
   * of finished runs that have no segment left; an open segment is never deleted (ffmpeg still writes it).
   */
  sweep(keepFrom: number, liveRun?: number): { deleted: number; bytes: number } {
    let deleted = 0;
    let bytes = 0;
    const runsLeft = new Set<number>();
    for (const s of this.list(liveRun)) {
      if (!s.closed || s.end >= keepFrom) {
        runsLeft.add(s.run);
        continue;
      }
      try {
        unlinkSync(s.path);
        deleted++;
        bytes += s.bytes;
      } catch {
        // Already gone.
      }
    }
    for (const run of this.listRead.keys()) {
      if (run === liveRun || runsLeft.has(run)) continue;
      rmSync(segmentListPath(this.dir, run), { force: true });
      this.listRead.delete(run);
    }
    return { deleted, bytes };
  }

  /** The newest segment's last write (epoch ms), or undefined when there is none. */
  lastWriteAt(): number | undefined {
    let newest: number | undefined;
    for (const s of this.list()) if (newest === undefined || s.end > newest) newest = s.end;
    return newest;
  }

  /** Reads a run's list when ffmpeg has rewritten it; a line cut short by a rewrite in progress is skipped. */
  private readList(run: number): void {
    const path = segmentListPath(this.dir, run);
    let text: string;
    try {
      const mtime = statSync(path).mtimeMs;
      if (this.listRead.get(run) === mtime) return;
      text = readFileSync(path, 'utf8');
      this.listRead.set(run, mtime);
    } catch {
      return;
    }
    for (const line of text.split('\n')) {
      const [name, from, to] = line.split(',');
      if (!name || !SEGMENT_NAME.test(name) || from === undefined || to === undefined) continue;
      const length = (Number(to) - Number(from)) * 1000;
      if (Number.isFinite(length) && length > 0) this.lengths.set(name, length);
    }
  }
}

/** The segments that cover [from, to] (epoch ms), oldest first. */
export function covering(segments: readonly Segment[], from: number, to: number): Segment[] {
  return segments.filter((s) => s.end > from && s.start < to);
}

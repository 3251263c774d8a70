// Where a benchmark's cores went: CPU time of a process split into its main thread, its other
// threads and its child processes, read from Linux /proc. On a small device the agent's
// throughput is bounded by the cores the camera decoder and the event loop leave to inference;
// this says how many that was, so a ratio below target can be told apart from wasted work.
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

/** CPU seconds (user + system) since each thread or process started. */
export interface ProcessCpu {
  /** The thread whose id is the process id: Node's event loop. */
  main: number;
  /** Every other thread of the process: for the agent, the inference worker and ONNX Runtime's pool. */
  otherThreads: number;
  /** Child processes and theirs (for the agent: ffmpeg, one per camera). */
  children: number;
}

/** Clock ticks per second of /proc's times; 100 on every Linux this runs on, asked once. */
let ticksPerSecond: number | undefined;
function clockTicks(): number {
  if (ticksPerSecond === undefined) {
    try {
      ticksPerSecond = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      ticksPerSecond = 100;
    }
  }
  return ticksPerSecond;
}

/**
 * utime + stime of one /proc stat line, in seconds. The command name (field 2) is in parentheses
 * and may hold spaces or parentheses itself, so fields are counted from the last ')'.
 */
export function cpuSecondsOfStat(line: string): number {
  const rest = line.slice(line.lastIndexOf(')') + 2).split(' ');
  // rest[0] is field 3 (state); utime and stime are fields 14 and 15.
  const utime = Number(rest[11]);
  const stime = Number(rest[12]);
  if (!Number.isFinite(utime) || !Number.isFinite(stime)) throw new Error(`not a /proc stat line: ${line.slice(0, 80)}`);
  return (utime + stime) / clockTicks();
}

function readStat(path: string): number | undefined {
  try {
    return cpuSecondsOfStat(readFileSync(path, 'utf8'));
  } catch {
    return undefined; // the thread or process ended between listing and reading
  }
}

function childPids(pid: number): number[] {
  const out = new Set<number>();
  for (const tid of list(`/proc/${pid}/task`)) {
    try {
      for (const c of readFileSync(`/proc/${pid}/task/${tid}/children`, 'utf8').split(' ')) if (c.trim()) out.add(Number(c));
    } catch {
      // thread gone
    }
  }
  return [...out];
}

function list(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

/** A process's CPU time now, or undefined where /proc does not describe it (not Linux, or it ended). */
export function sampleProcessCpu(pid: number): ProcessCpu | undefined {
  const main = readStat(`/proc/${pid}/task/${pid}/stat`);
  if (main === undefined) return undefined;
  let otherThreads = 0;
  for (const tid of list(`/proc/${pid}/task`)) if (Number(tid) !== pid) otherThreads += readStat(`/proc/${pid}/task/${tid}/stat`) ?? 0;
  let children = 0;
  const pending = childPids(pid);
  for (let guard = 0; pending.length > 0 && guard < 1000; guard++) {
    const child = pending.pop()!;
    // A process's own stat line counts all of its threads.
    children += readStat(`/proc/${child}/stat`) ?? 0;
    pending.push(...childPids(child));
  }
  return { main, otherThreads, children };
}

/** Cores used between two samples taken `seconds` apart (CPU seconds per second of wall time). */
export function coresBetween(before: ProcessCpu, after: ProcessCpu, seconds: number): ProcessCpu {
  const per = (k: keyof ProcessCpu) => Math.max(0, after[k] - before[k]) / seconds;
  return { main: per('main'), otherThreads: per('otherThreads'), children: per('children') };
}

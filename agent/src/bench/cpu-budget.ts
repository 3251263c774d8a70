// The agent's throughput against the cores it had: what inference was left after the camera
// decoder and the event loop, and how close the agent came to that ceiling.
import { availableParallelism } from 'node:os';
import type { ProcessCpu } from './cpu-usage.js';
import { mean, round } from './figures.js';

/**
 * The cores of the saturated runs, and what they leave to inference. The bare loop needs
 * `bare.cores` for `bare.fps`; in the agent the camera decoder and the event loop take their share
 * of the same cores first, so inference can at best run at bare fps × (cores left / bare cores).
 * The agent's throughput against that ceiling is what it wastes; the ceiling against bare is what
 * the device's cores allow.
 */
export interface CpuBudget {
  machineCores: number;
  bareCores: number;
  agent: { inference: number; mainThread: number; ffmpeg: number };
  /** Core-milliseconds of the inference threads (worker + ONNX Runtime pool) per frame, bare and in the agent. */
  inferenceCoreMsPerFrame: { bare: number; agent: number };
  ceilingFps: number;
  ratioToCeiling: number;
}

export function cpuBudget(bare: { fps: number; cores: number }, fps: number, runs: Array<ProcessCpu | undefined>, machineCores = availableParallelism()): CpuBudget | undefined {
  const measured = runs.filter((c): c is ProcessCpu => c !== undefined);
  if (measured.length === 0 || !(bare.cores > 0)) return undefined;
  const agent = { inference: mean(measured.map((c) => c.otherThreads)), mainThread: mean(measured.map((c) => c.main)), ffmpeg: mean(measured.map((c) => c.children)) };
  const left = Math.max(0, machineCores - agent.mainThread - agent.ffmpeg);
  const ceilingFps = bare.fps * Math.min(1, left / bare.cores);
  return {
    machineCores,
    bareCores: round(bare.cores),
    agent: { inference: round(agent.inference), mainThread: round(agent.mainThread), ffmpeg: round(agent.ffmpeg) },
    inferenceCoreMsPerFrame: { bare: round((bare.cores * 1000) / bare.fps), agent: round((agent.inference * 1000) / fps) },
    ceilingFps: round(ceilingFps),
    ratioToCeiling: +(fps / ceilingFps).toFixed(3),
  };
}

export function cpuLines(c: CpuBudget): string {
  return (
    `cores (of ${c.machineCores})    : bare loop ${c.bareCores.toFixed(2)}; agent: inference ${c.agent.inference.toFixed(2)}, event loop ${c.agent.mainThread.toFixed(2)}, ffmpeg ${c.agent.ffmpeg.toFixed(2)}\n` +
    `  inference core-ms per frame: bare ${c.inferenceCoreMsPerFrame.bare.toFixed(1)}, agent ${c.inferenceCoreMsPerFrame.agent.toFixed(1)}\n` +
    `  ceiling here     : ${c.ceilingFps.toFixed(1)} frames/s (bare × cores left after ffmpeg and the event loop / bare cores); agent at ${c.ratioToCeiling.toFixed(2)}x of it`
  );
}

import type { CameraState } from '@kestrel/core';
import type { InferenceCheck } from '../health/inference-liveness.js';
import type { Liveness } from './service.js';

export interface LivenessInput {
  now: number;
  /** The watchdog period: progress older than this does not count. */
  withinMs: number;
  inference: InferenceCheck;
  cameras: Array<{ name: string; state: CameraState }>;
  /** Last time a camera frame went all the way through; start and reloads count as progress too. */
  lastProgressAt: number;
  mqttConnected: boolean;
  outboxDepth: number;
  /** Cameras left out of `cameras` because their detection is switched off (Home Assistant's switch). */
  detectionOff?: readonly string[];
}

/**
 * The systemd watchdog's rule: alive while inference answers and some camera's frames went
 * through it within the period. Any camera, not every one: one dead camera among several is its
 * source's job to retry and /healthz's to report, and restarting the agent would blind the
 * others for nothing; no frame at all for a whole period means the pipeline is stuck (or every
 * camera is gone), and a restart is the last thing left to try.
 */
export function watchdogLiveness(input: LivenessInput): Liveness {
  const { now, cameras, inference } = input;
  const streaming = cameras.filter((c) => c.state === 'streaming').length;
  const stuck = cameras.length > 0 && now - input.lastProgressAt > input.withinMs;
  const down = cameras.filter((c) => c.state !== 'streaming').map((c) => `${c.name} ${c.state}`);
  const off = input.detectionOff ?? [];
  const parts = [cameras.length === 0 ? (off.length ? 'no camera detecting' : 'no cameras enabled') : `${streaming}/${cameras.length} cameras streaming${down.length ? ` (${down.join(', ')})` : ''}`];
  if (off.length) parts.push(`detection off: ${off.join(', ')}`);
  if (!inference.alive) parts.push(inference.reason ?? 'inference not answering');
  if (stuck) parts.push(`no frame processed for ${Math.round((now - input.lastProgressAt) / 1000)} s`);
  parts.push(input.mqttConnected ? 'mqtt connected' : 'mqtt away');
  parts.push(`outbox ${input.outboxDepth}`);
  return { alive: inference.alive && !stuck, status: parts.join('; ') };
}

import type { CameraState } from '@kestrel/core';
import type { InferenceCheck } from './inference-liveness.js';

export interface CameraHealthInput {
  name: string;
  state: CameraState;
  lastError?: string;
  since?: number;
  lastFrameAt?: number;
  restarts?: number;
}

export interface HealthInput {
  now: number;
  deviceId: string;
  startedAt: number;
  cameras: CameraHealthInput[];
  inference: InferenceCheck & { provider?: string; restarts: number };
  mqtt: { connected: boolean; reconnects: number; telemetryDropped: number };
  outbox: { depth: number; bytes: number; dropped: number; durable: boolean } | undefined;
  /** Why the device runs below par (same list as the retained state's `degraded`). */
  degraded: string[];
}

/** The /healthz document. */
export interface HealthReport {
  status: 'ok' | 'unhealthy';
  /** What keeps the status from ok; empty when ok. */
  reasons: string[];
  deviceId: string;
  uptimeSeconds: number;
  cameras: Record<string, { ok: boolean; state: CameraState; lastFrameAgeMs?: number; lastError?: string; since?: number; restarts?: number }>;
  inference: { ok: boolean; provider?: string; lastAnswerAgeMs?: number; oldestPendingMs?: number; inFlight: number; restarts: number; reason?: string };
  mqtt: { connected: boolean; reconnects: number; telemetryDropped: number };
  outbox: { depth: number; bytes: number; dropped: number; durable: boolean } | null;
  degraded: string[];
}

/**
 * Healthy means doing the job: every enabled camera streams and inference answers. MQTT and the
 * outbox are reported but do not decide: with the broker away the agent still detects and keeps
 * every event on disk, which is exactly what it should do (alert on kestrel_outbox_depth instead).
 */
export function buildHealthReport(input: HealthInput): HealthReport {
  const reasons: string[] = [];
  const cameras: HealthReport['cameras'] = {};
  for (const c of input.cameras) {
    const ok = c.state === 'streaming';
    if (!ok) reasons.push(`camera ${c.name} is ${c.state}${c.lastError ? `: ${c.lastError}` : ''}`);
    cameras[c.name] = {
      ok,
      state: c.state,
      ...(c.lastFrameAt ? { lastFrameAgeMs: input.now - c.lastFrameAt } : {}),
      ...(c.lastError ? { lastError: c.lastError } : {}),
      ...(c.since ? { since: c.since } : {}),
      ...(c.restarts !== undefined ? { restarts: c.restarts } : {}),
    };
  }
  const inf = input.inference;
  if (!inf.alive) reasons.push(inf.reason ?? 'inference is not answering');
  return {
    status: reasons.length === 0 ? 'ok' : 'unhealthy',
    reasons,
    deviceId: input.deviceId,
    uptimeSeconds: Math.round((input.now - input.startedAt) / 1000),
    cameras,
    inference: {
      ok: inf.alive,
      ...(inf.provider ? { provider: inf.provider } : {}),
      ...(inf.lastAnswerAgeMs !== undefined ? { lastAnswerAgeMs: inf.lastAnswerAgeMs } : {}),
      ...(inf.oldestPendingMs !== undefined ? { oldestPendingMs: inf.oldestPendingMs } : {}),
      inFlight: inf.inFlight,
      restarts: inf.restarts,
      ...(inf.reason ? { reason: inf.reason } : {}),
    },
    mqtt: input.mqtt,
    outbox: input.outbox ?? null,
    degraded: input.degraded,
  };
}

/** Per-camera inference totals since the agent started; the health watch compares windows of them. */
export interface CameraInferenceTotals {
  frames: number;
  failures: number;
  detections: number;
  inferenceMsSum: number;
}

export type InferenceTotals = Record<string, CameraInferenceTotals>;

/**
 * The agent's inference loop reports each frame here (two calls in Agent.process); the updater
 * reads `totals()` to judge a new model against the previous one on the same cameras.
 */
export class InferenceCounters {
  private readonly cameras = new Map<string, CameraInferenceTotals>();

  private of(camera: string): CameraInferenceTotals {
    let totals = this.cameras.get(camera);
    if (!totals) this.cameras.set(camera, (totals = { frames: 0, failures: 0, detections: 0, inferenceMsSum: 0 }));
    return totals;
  }

  ok(camera: string, detections: number, inferenceMs: number): void {
    const t = this.of(camera);
    t.frames++;
    t.detections += detections;
    t.inferenceMsSum += inferenceMs;
  }

  failed(camera: string): void {
    this.of(camera).failures++;
  }

  totals(): InferenceTotals {
    return Object.fromEntries([...this.cameras].map(([name, t]) => [name, { ...t }]));
  }
}

/** `later - earlier`, per camera. */
export function difference(later: InferenceTotals, earlier: InferenceTotals): InferenceTotals {
  const out: InferenceTotals = {};
  for (const [camera, t] of Object.entries(later)) {
    const e = earlier[camera] ?? { frames: 0, failures: 0, detections: 0, inferenceMsSum: 0 };
    out[camera] = { frames: t.frames - e.frames, failures: t.failures - e.failures, detections: t.detections - e.detections, inferenceMsSum: t.inferenceMsSum - e.inferenceMsSum };
  }
  return out;
}

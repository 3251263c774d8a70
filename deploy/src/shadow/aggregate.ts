import type { ShadowRecord, ShadowReportRecord } from '../store/types.js';

/** One model's side of a shadow, over every reporting device and camera. */
export interface ShadowSideSummary {
  detections: number;
  perFrame: number | null;
  meanScore: number | null;
  /** Frame-weighted mean of the devices' mean inference times. */
  latencyMeanMs: number | null;
  /** Frame-weighted mean of the devices' p50 (an approximation: percentiles do not add). */
  latencyP50Ms: number | null;
}

export interface ShadowDeviceSummary {
  deviceId: string;
  status: string;
  reason?: string;
  at: number;
  frames: number;
  dropped: number;
  agreement: number | null;
}

/** A shadow as GET /api/v1/shadows/:id answers: the record, the fleet totals, and each device. */
export interface ShadowSummary extends Omit<ShadowRecord, 'manifest'> {
  /** `running` until stopped or past `until`. */
  status: 'running' | 'stopped' | 'ended';
  devicesReporting: number;
  frames: number;
  matched: number;
  /** matched / (current + candidate − matched) over everything compared. */
  agreement: number | null;
  /** Candidate detections per current detection (1: as many, 0.5: half). */
  detectionRateRatio: number | null;
  /** Candidate mean inference time over the current model's. */
  latencyRatio: number | null;
  dropped: number;
  current: ShadowSideSummary;
  candidate: ShadowSideSummary;
  devices: ShadowDeviceSummary[];
}

interface SideSums {
  detections: number;
  scoreSum: number;
  latencyWeighted: number;
  latencyFrames: number;
  p50Weighted: number;
  p50Frames: number;
}

const zero = (): SideSums => ({ detections: 0, scoreSum: 0, latencyWeighted: 0, latencyFrames: 0, p50Weighted: 0, p50Frames: 0 });

/**
 * The per-release report: each device's latest report summed up. The devices send sums (matched,
 * detections, score sums, frame counts), so agreement and rates add up exactly across cameras and
 * devices; latency is weighted by frames.
 */
export function summarizeShadow(shadow: ShadowRecord, reports: readonly ShadowReportRecord[], now: number): ShadowSummary {
  let frames = 0;
  let matched = 0;
  let dropped = 0;
  const cur = zero();
  const cand = zero();
  const devices: ShadowDeviceSummary[] = [];
  for (const { report, deviceId, at } of reports) {
    let deviceFrames = 0;
    let deviceMatched = 0;
    let deviceUnion = 0;
    for (const c of Object.values(report.cameras)) {
      deviceFrames += c.frames;
      deviceMatched += c.matched;
      deviceUnion += c.current.detections + c.candidate.detections - c.matched;
      for (const [sums, side] of [[cur, c.current], [cand, c.candidate]] as const) {
        sums.detections += side.detections;
        sums.scoreSum += side.scoreSum;
        if (side.latencyMeanMs !== null) {
          sums.latencyWeighted += side.latencyMeanMs * c.frames;
          sums.latencyFrames += c.frames;
        }
        if (side.latencyMs) {
          sums.p50Weighted += side.latencyMs.p50 * c.frames;
          sums.p50Frames += c.frames;
        }
      }
    }
    frames += deviceFrames;
    matched += deviceMatched;
    dropped += report.dropped;
    devices.push({ deviceId, status: report.status, ...(report.reason !== undefined && { reason: report.reason }), at, frames: deviceFrames, dropped: report.dropped, agreement: deviceUnion > 0 ? round(deviceMatched / deviceUnion, 4) : null });
  }
  const union = cur.detections + cand.detections - matched;
  const side = (s: SideSums): ShadowSideSummary => ({
    detections: s.detections,
    perFrame: frames > 0 ? round(s.detections / frames, 3) : null,
    meanScore: s.detections > 0 ? round(s.scoreSum / s.detections, 4) : null,
    latencyMeanMs: s.latencyFrames > 0 ? round(s.latencyWeighted / s.latencyFrames, 2) : null,
    latencyP50Ms: s.p50Frames > 0 ? round(s.p50Weighted / s.p50Frames, 2) : null,
  });
  const current = side(cur);
  const candidate = side(cand);
  return {
    id: shadow.id,
    release: shadow.release,
    share: shadow.share,
    until: shadow.until,
    createdAt: shadow.createdAt,
    createdBy: shadow.createdBy,
    targets: shadow.targets,
    status: shadow.stopped ? 'stopped' : now >= shadow.until ? 'ended' : 'running',
    ...(shadow.stopped && { stopped: shadow.stopped }),
    devicesReporting: reports.filter((r) => Object.values(r.report.cameras).some((c) => c.frames > 0)).length,
    frames,
    matched,
    agreement: union > 0 ? round(matched / union, 4) : null,
    detectionRateRatio: cur.detections > 0 ? round(cand.detections / cur.detections, 4) : null,
    latencyRatio: current.latencyMeanMs && candidate.latencyMeanMs !== null ? round(candidate.latencyMeanMs / current.latencyMeanMs, 3) : null,
    dropped,
    current,
    candidate,
    devices,
  };
}

function round(v: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(v * f) / f;
}

import type { ShadowSummary, ShadowSideSummary } from './aggregate.js';

const fixed = (v: number | null, digits = 2) => (v === null ? '-' : v.toFixed(digits));

function side(name: string, s: ShadowSideSummary): string {
  return `  ${name.padEnd(10)} ${fixed(s.perFrame)} det/frame  mean score ${fixed(s.meanScore, 3)}  latency ${fixed(s.latencyMeanMs, 1)} ms mean, ${fixed(s.latencyP50Ms, 1)} ms p50`;
}

/** `kestrel deploy shadow status <id>`: the fleet figures, then one line per device. */
export function formatShadow(s: ShadowSummary): string {
  const lines = [
    `shadow ${s.id}  ${s.release}  ${s.status}  share ${s.share}  until ${new Date(s.until).toISOString()}${s.stopped ? `  stopped by ${s.stopped.by}` : ''}`,
    `  ${s.devicesReporting}/${s.targets.length} devices reporting, ${s.frames} frames compared, ${s.dropped} dropped (candidate busy)`,
    `  agreement ${fixed(s.agreement, 3)}  detection-rate ratio ${fixed(s.detectionRateRatio, 3)}  latency ratio ${fixed(s.latencyRatio, 3)}`,
    side('current', s.current),
    side('candidate', s.candidate),
    ...s.devices.map((d) => `  ${d.deviceId.padEnd(20)} ${d.status.padEnd(8)} ${String(d.frames).padStart(6)} frames  agreement ${fixed(d.agreement, 3)}${d.reason ? `  ${d.reason}` : ''}`),
  ];
  return `${lines.join('\n')}\n`;
}

/** One line per shadow (`kestrel deploy shadow status`, `kestrel deploy status`). */
export function shadowLine(s: ShadowSummary): string {
  return `shadow ${s.id} ${s.release} ${s.status}  ${s.devicesReporting}/${s.targets.length} devices, ${s.frames} frames, agreement ${fixed(s.agreement, 3)}, detection-rate ratio ${fixed(s.detectionRateRatio, 3)}, latency ratio ${fixed(s.latencyRatio, 3)}\n`;
}

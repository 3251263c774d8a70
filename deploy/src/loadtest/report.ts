import { table } from '@kestrel/core';
import type { LoadtestReport } from './run.js';

/** Whether the run met its bar: nothing lost, nothing twice, the rollout completed. */
export function passed(r: LoadtestReport): boolean {
  return r.lost === 0 && r.duplicated === 0 && r.rollout.status === 'completed';
}

/** The report for a person: the verdict first, then the figures behind it. */
export function formatReport(r: LoadtestReport): string {
  const s = r.exactlyOnce.samples;
  const d = r.exactlyOnce.devices;
  const lines = [
    `${passed(r) ? 'PASS' : 'FAIL'}: ${r.devices} devices, ${r.replicas} replicas (${r.sessions} fleet session${r.sessions === 1 ? '' : 's'} each), ${r.seconds} s of traffic on ${r.records}; ${r.broker}`,
    '',
    table(
      ['CHECK', 'RESULT', 'WHAT IT COVERS'],
      [
        ['lost', r.lost, `samples confirmed but not stored (http ${s.lost.http}, mqtt ${s.lost.mqtt}), rows without their JPEG (${s.missingImages}), device rows not as last reported (${d.stale})`],
        ['duplicated', r.duplicated, 'sample rows stored more than once for one (device, id)'],
        ['samples', `${s.stored} stored / ${s.acked} confirmed / ${s.sent} sent`, `${s.pending} pending, ${s.rejected} refused, ${s.unexpectedRows} unexpected, ${s.orphanImages} orphan JPEGs`],
        ['redelivered', `http ${r.exactlyOnce.redelivered.http}, mqtt ${r.exactlyOnce.redelivered.mqtt}`, 'seen again and answered as duplicates (nothing written twice)'],
        ['devices', `${d.rows} rows / ${d.expected}`, `${d.staleBeforeRepublish} out of order before the devices' next state, ${d.stale} after`],
        ['rollout', `${r.rollout.status}${r.rollout.reason ? ` (${r.rollout.reason})` : ''}`, `${r.rollout.waves} waves, ${r.rollout.updated} devices updated in ${r.rollout.durationS} s${r.rollout.killed ? `; ${r.rollout.killed} killed, taken over after ${r.rollout.takeoverS ?? '?'} s` : ''}`],
      ],
    ),
    '',
    table(
      ['INGEST', 'P50 MS', 'P99 MS', 'COUNT'],
      [
        ['all', r.ingest.p50Ms, r.ingest.p99Ms, r.ingest.count],
        ['http (round trip)', r.ingest.http.p50Ms, r.ingest.http.p99Ms, r.ingest.http.count],
        ['mqtt (publish → received)', r.ingest.mqtt.p50Ms, r.ingest.mqtt.p99Ms, r.ingest.mqtt.count],
      ],
    ),
    '',
    table(
      ['PROCESS', 'CPU %', 'RSS MB', 'NOTE'],
      [
        ...r.cpu.map((c) => [`replica ${c.replica}`, c.cpuPercent, c.rssMb, `${c.processes} process${c.processes === 1 ? '' : 'es'}, ${c.errors} errors, ${c.warnings} warnings logged`]),
        ['simulator', r.host.simulatorCpuPercent, '-', `${r.devices} MQTT clients, uploads, the balancer`],
        ...(r.host.brokerCpuPercent !== undefined ? [['mosquitto', r.host.brokerCpuPercent, '-', 'private broker']] : []),
        ...(r.host.postgresCpuPercent !== undefined ? [['postgres', r.host.postgresCpuPercent, '-', 'every postgres process here, other users\' included']] : []),
      ],
    ),
    ...r.cpu.flatMap((c) => c.said.map((s) => `  ${c.replica} logged ${s.count}× "${s.msg}"`)),
    '',
    `traffic: ${r.traffic.events.sent} events, ${r.traffic.stats} stats, ${r.traffic.states} states, ${r.traffic.samples.http} http + ${r.traffic.samples.mqtt} mqtt samples; ` +
      `${r.traffic.httpRetries} upload retries, ${r.traffic.queueDrops} queue drops; load ${r.host.loadavgStart.join('/')} → ${r.host.loadavgEnd.join('/')} on ${r.host.cpus} CPUs; ${r.trafficS} s of traffic, ${r.drainS} s to drain, ${r.wallS} s in all`,
    '',
  ];
  return lines.join('\n');
}

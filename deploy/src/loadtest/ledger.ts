/**
 * What the simulated fleet sent and what it was told, for the exactly-once count after the run:
 * every sample by its (device, id), and the answers that came back. Bounded by the run itself
 * (one entry per sample made).
 */
export interface SentSample {
  transport: 'http' | 'mqtt';
  /** The hub answered stored/duplicate (HTTP) or the broker acknowledged it (MQTT PUBACK). */
  acked: boolean;
  /** Refused for good (HTTP 4xx): a load-test bug, or the hub refusing what it should take. */
  rejected?: string;
}

export class Ledger {
  readonly samples = new Map<string, SentSample>();
  /** HTTP upload round trips (request sent → answer after the hub stored it), ms. */
  readonly httpMs: number[] = [];
  readonly counts = {
    eventsSent: 0,
    eventsAcked: 0,
    statsSent: 0,
    statesSent: 0,
    /** HTTP upload attempts that failed (connection refused or reset, 5xx, timeout) and were tried again. */
    httpRetries: 0,
    /** HTTP answers `duplicate`: a retry of a sample the hub had stored (an answer lost on the way). */
    httpDuplicates: 0,
    /** Samples a device's upload queue had no room for (bounded; counted, never silently). */
    queueDrops: 0,
    updatesApplied: 0,
    updatesRejected: 0,
    downloadRetries: 0,
  };

  record(deviceId: string, id: string, transport: SentSample['transport']): SentSample {
    const entry: SentSample = { transport, acked: false };
    this.samples.set(`${deviceId}/${id}`, entry);
    return entry;
  }
}

/** The p-th percentile (0..100) of values, nearest rank; 0 for none. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank];
}

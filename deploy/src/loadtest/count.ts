import type { HubStores } from '../store/open.js';
import type { FleetDeviceRecord } from '../store/types.js';
import type { Ledger } from './ledger.js';

/** Samples as the store holds them, against what the devices sent. */
export interface SampleCount {
  /** Samples the devices made. */
  sent: number;
  /** Confirmed to the device: the hub's answer (HTTP) or the broker's PUBACK (MQTT). */
  acked: number;
  /** Rows in the records store. */
  stored: number;
  /** Confirmed but not stored: lost. */
  lost: { http: number; mqtt: number };
  /** Extra rows for one (device, id): handled more than once. */
  duplicateRows: number;
  /** Rows the devices never sent. */
  unexpectedRows: number;
  /** Rows whose JPEG is not in the blob store (a sample without its image is lost too). */
  missingImages: number;
  /** JPEGs no row refers to (left by an interrupted write; the next hub start removes them). */
  orphanImages: number;
  /** Never confirmed: still in a device's upload queue at the end (the agent would send them later). */
  pending: number;
  /** Refused for good (HTTP 4xx), by reason. */
  rejected: number;
  /** Stored sample rows by transport, for the latency of MQTT ingest (receivedAt − capturedAt). */
  mqttIngestMs: number[];
}

/** Reads every sample row and the blob folder's sample keys, and compares with the ledger. */
export async function countSamples(stores: HubStores, ledger: Ledger): Promise<SampleCount> {
  const seen = new Map<string, number>();
  const blobKeys: string[] = [];
  const mqttIngestMs: number[] = [];
  let stored = 0;
  let after: string | undefined;
  do {
    const page = await stores.records.listSamples({}, { limit: 1000, after });
    for (const s of page.samples) {
      stored++;
      const key = `${s.deviceId}/${s.id}`;
      seen.set(key, (seen.get(key) ?? 0) + 1);
      blobKeys.push(s.blobKey);
      if (ledger.samples.get(key)?.transport === 'mqtt') mqttIngestMs.push(s.receivedAt - s.capturedAt);
    }
    after = page.next;
  } while (after);
  const blobs = new Set<string>();
  for await (const key of stores.blobs.list('samples/')) blobs.add(key);
  const referenced = new Set(blobKeys);

  const out: SampleCount = {
    sent: ledger.samples.size, acked: 0, stored, lost: { http: 0, mqtt: 0 }, duplicateRows: 0, unexpectedRows: 0,
    missingImages: blobKeys.filter((k) => !blobs.has(k)).length,
    orphanImages: [...blobs].filter((k) => !referenced.has(k)).length,
    pending: 0, rejected: 0, mqttIngestMs,
  };
  for (const [key, entry] of ledger.samples) {
    if (entry.rejected) out.rejected++;
    else if (!entry.acked) out.pending++;
    else out.acked++;
    if (entry.acked && !seen.has(key)) out.lost[entry.transport]++;
  }
  for (const [key, n] of seen) {
    if (n > 1) out.duplicateRows += n - 1;
    if (!ledger.samples.has(key)) out.unexpectedRows++;
  }
  return out;
}

/** Device rows against what each device last said: its row, online, on the model its last state named. */
export interface DeviceCount {
  expected: number;
  rows: number;
  /** Devices whose row is missing, offline, or names another model than the device's last state. */
  stale: string[];
}

export function countDevices(rows: readonly FleetDeviceRecord[], expected: ReadonlyMap<string, string>): DeviceCount {
  const byId = new Map(rows.map((r) => [r.deviceId, r]));
  const stale: string[] = [];
  for (const [id, sha] of expected) {
    const row = byId.get(id);
    if (!row || !row.online || row.model?.sha256 !== sha) stale.push(id);
  }
  return { expected: expected.size, rows: rows.filter((r) => expected.has(r.deviceId)).length, stale };
}

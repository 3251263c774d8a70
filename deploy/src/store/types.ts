import type { Readable } from 'node:stream';
import type { DriftAlert, ReleaseManifest, ShadowReport } from '@kestrel/core';

/**
 * The hub's storage, behind two small interfaces (ARCHITECTURE.md, "The hub at fleet scale"): records (tokens,
 * samples, the fleet table) and blobs (JPEGs, later model artifacts). The embedded default is
 * SQLite and a folder; PostgreSQL and an S3-compatible store implement the same contracts.
 * Every method is async so that network-backed stores fit without changing callers.
 */

export type TokenRole = 'device' | 'operator';

export interface TokenRecord {
  /** Device id (for device tokens) or a person's/tool's name (operator tokens). */
  name: string;
  role: TokenRole;
  /** SHA-256 of the token, hex. The token itself is never stored. */
  hash: string;
  createdAt: number;
  revokedAt?: number;
}

/** A detection or a reviewed label, boxes in source pixels of the sample's frame. */
export interface LabelBoxRecord {
  label: string;
  box: [number, number, number, number];
  /** Set for a model's detections; absent for labels a person drew or confirmed. */
  score?: number;
}

/** A sample as the hub stores it: a device's upload (core's `Sample` payload) with its device id, its JPEG's blob key and any review. */
export interface SampleRecord {
  deviceId: string;
  /** The device's id for the sample; (deviceId, id) is unique. */
  id: string;
  camera: string;
  capturedAt: number;
  receivedAt: number;
  modelVersion: string;
  reasons: string[];
  /** The device model's detections: the pre-labels. */
  detections: LabelBoxRecord[];
  shadow?: { modelVersion: string; detections: LabelBoxRecord[] };
  /**
   * Labels a person reviewed (a labelling UI writes them). When set — even to an empty list, which
   * means "nothing here" — they take precedence over `detections` in exports.
   */
  reviewed?: { labels: LabelBoxRecord[]; by: string; at: number };
  frameSize: [number, number];
  imageSize: [number, number];
  hash?: string;
  /** Key of the JPEG in the blob store. */
  blobKey: string;
  bytes: number;
}

/** What listing and export select by; every field optional, all given fields must match. */
export interface SampleFilter {
  deviceId?: string;
  camera?: string;
  /** A label among the sample's effective labels (reviewed, else detections). */
  label?: string;
  /** A strategy among the sample's reasons. */
  strategy?: string;
  /** capturedAt ≥ since (epoch ms). */
  since?: number;
  /** capturedAt < until (epoch ms). */
  until?: number;
  /** Only samples with (true) or without (false) reviewed labels. */
  reviewed?: boolean;
}

export interface SamplePage {
  samples: SampleRecord[];
  /** Pass as `after` for the next page; absent on the last page. */
  next?: string;
}

/** What the hub knows of a device from its retained MQTT topics. */
export interface FleetDeviceRecord {
  deviceId: string;
  online: boolean;
  /** From the `state` payload. */
  agentVersion?: string;
  model?: { name: string; version: string; sha256: string; provider: string } | null;
  cameras: Record<string, { state: string; fps: number }>;
  degraded: string[];
  /** Epoch ms of the last status or state message. */
  lastSeen: number;
}

/** A camera's latest drift comparison, from its retained `<prefix>/<device>/<camera>/drift`. */
export interface DriftRecord {
  deviceId: string;
  camera: string;
  /** When the device compared (epoch ms, the device's clock). */
  at: number;
  /** When `drifted` last changed on the device. */
  since: number;
  drifted: boolean;
  psi: number;
  js: number;
  modelVersion: string;
  /** When the hub stored it. */
  receivedAt: number;
  /** The rest of the device's message (the window's histograms are left out: the figures say enough). */
  detail: Pick<DriftAlert, 'threshold' | 'baseline' | 'perFrame' | 'baselinePerFrame' | 'worst' | 'figures'>;
}

/** What one status or state message says about a device (see RecordStore.upsertFleetDevice). */
export type FleetDeviceUpdate = Partial<FleetDeviceRecord> & { deviceId: string; lastSeen: number; stateAt?: number };

/** A shadow comparison the hub started (`kestrel deploy shadow start`): a candidate release on a share of some devices' frames. */
export interface ShadowRecord {
  id: string;
  /** Release id (name@version) of the candidate. */
  release: string;
  share: number;
  /** When the devices stop by themselves (epoch ms). */
  until: number;
  createdAt: number;
  createdBy: string;
  /** The devices sent the order. */
  targets: string[];
  /** The signed manifest the order carries (signed by the operator's key, never the hub's). */
  manifest: ReleaseManifest;
  stopped?: { by: string; at: number };
}

/** A device's latest report on a shadow (its retained `<prefix>/<device>/shadow`). */
export interface ShadowReportRecord {
  shadowId: string;
  deviceId: string;
  /** When the device reported (the device's clock). */
  at: number;
  receivedAt: number;
  report: ShadowReport;
}

export type InsertOutcome = 'stored' | 'duplicate';

export type RolloutStatus = 'running' | 'completed' | 'aborted';

/**
 * A rollout as the records store keeps it. The store knows the fields it must query or guard
 * (status, lease, abort request); `state` — the plan, the waves, each device's result — is the
 * rollout module's, stored whole and written only by the replica holding the lease.
 */
export interface StoredRollout {
  id: string;
  status: RolloutStatus;
  startedAt: number;
  updatedAt: number;
  state: unknown;
  /** An operator asked to stop it; the replica driving it acts on this at its next step. */
  abortRequested?: { by: string; at: number };
  /** Which replica drives it, until when (epoch ms of the holder's clock; replicas keep NTP time). */
  lease?: { holder: string; expiresAt: number };
}

export interface RecordStore {
  addToken(token: TokenRecord): Promise<void>;
  tokenByHash(hash: string): Promise<TokenRecord | undefined>;
  /** The active (not revoked) token of a name and role. */
  activeToken(name: string, role: TokenRole): Promise<TokenRecord | undefined>;
  /** Revokes every active token of a name and role; returns how many. */
  revokeTokens(name: string, role: TokenRole, at: number): Promise<number>;
  listTokens(role?: TokenRole): Promise<TokenRecord[]>;

  /** Which of these (deviceId, id) pairs are already stored. */
  existingSamples(keys: readonly { deviceId: string; id: string }[]): Promise<Set<string>>;
  /** Inserts all or none (one transaction); samples already there are reported as duplicates. */
  insertSamples(samples: readonly SampleRecord[]): Promise<InsertOutcome[]>;
  getSample(deviceId: string, id: string): Promise<SampleRecord | undefined>;
  listSamples(filter: SampleFilter, options?: { limit?: number; after?: string }): Promise<SamplePage>;
  countSamples(filter?: SampleFilter): Promise<number>;
  setReviewed(deviceId: string, id: string, reviewed: NonNullable<SampleRecord['reviewed']> | null): Promise<boolean>;
  /**
   * Compare-and-set of a sample's review, for editors that must not overwrite each other: writes
   * `reviewed` only if the stored review's `at` is still `expectedAt` (`null`: the sample has no
   * review yet), in one atomic step. 'missing': no such sample; 'stale': someone saved since (nothing
   * written). Callers make each new `at` larger than the one it replaces, so `at` works as a revision.
   */
  replaceReviewed(deviceId: string, id: string, expectedAt: number | null, reviewed: NonNullable<SampleRecord['reviewed']>): Promise<'saved' | 'missing' | 'stale'>;
  /** Every blob key a sample row refers to (for the blob repair). */
  sampleBlobKeys(): Promise<Set<string>>;

  /**
   * Merges what an update gives. With `stateAt` (the device's time of a `state` message) the
   * state fields (agentVersion, model, cameras, degraded) are written only if no newer state was:
   * two replicas may handle one device's states in either order.
   */
  upsertFleetDevice(update: FleetDeviceUpdate): Promise<void>;
  listFleetDevices(): Promise<FleetDeviceRecord[]>;

  /**
   * Keeps a camera's latest drift comparison: replaces the stored one only when `at` is not older,
   * in one statement, so a redelivered or late message never overwrites a newer one.
   */
  upsertDrift(record: DriftRecord): Promise<void>;
  /** Every camera's latest, by device then camera; `drifted: true` for the alerts only. */
  listDrift(filter?: { deviceId?: string; drifted?: boolean }): Promise<DriftRecord[]>;

  /** A new shadow comparison; an id stored already is refused. */
  insertShadow(shadow: ShadowRecord): Promise<void>;
  getShadow(id: string): Promise<ShadowRecord | undefined>;
  /** Newest first. */
  listShadows(options?: { limit?: number }): Promise<ShadowRecord[]>;
  /** Marks it stopped; 'stopped-already' keeps the first stop. */
  stopShadow(id: string, by: string, at: number): Promise<'stopped' | 'missing' | 'stopped-already'>;
  /** Keeps a device's latest report on a shadow: replaces the stored one only when `at` is not older. */
  upsertShadowReport(record: ShadowReportRecord): Promise<void>;
  /** Every device's latest report on the shadow, by device. */
  listShadowReports(shadowId: string): Promise<ShadowReportRecord[]>;

  /** A new rollout, running and unclaimed; an id stored already is refused. */
  insertRollout(rollout: Omit<StoredRollout, 'lease' | 'abortRequested'>): Promise<void>;
  getRollout(id: string): Promise<StoredRollout | undefined>;
  /** Newest first. */
  listRollouts(options?: { limit?: number }): Promise<StoredRollout[]>;
  /** Ids of the rollouts still running, oldest first (what replicas try to claim). */
  runningRolloutIds(): Promise<string[]>;
  /**
   * Takes or renews the lease of a running rollout in one atomic step: granted when nobody holds
   * it, `holder` holds it already, or the lease expired by `now`. Returns whether `holder` holds it.
   */
  claimRollout(id: string, holder: string, now: number, leaseMs: number): Promise<boolean>;
  /**
   * Writes the rollout's progress, only while `holder` still holds the lease (a replica that lost it
   * while paused cannot overwrite its successor's work). A finished status lets the lease go.
   */
  saveRollout(id: string, holder: string, update: { status: RolloutStatus; state: unknown; updatedAt: number }): Promise<boolean>;
  /** Lets the lease go at once (a replica stopping cleanly), so another takes over without waiting. */
  releaseRollout(id: string, holder: string): Promise<void>;
  /** Asks the driver to abort a running rollout; asking again keeps the first request. */
  requestRolloutAbort(id: string, by: string, at: number): Promise<'requested' | 'missing' | 'finished'>;

  close(): Promise<void>;
}

/**
 * One stored blob opened for reading: its size, fixed when it was opened, and streams of its
 * bytes. A blob replaced after opening never serves a mix: the folder store keeps serving the
 * bytes that were opened; a network store that cannot pin them fails the stream instead.
 */
export interface OpenBlob {
  readonly size: number;
  /** Bytes `start` to `end` inclusive (the whole blob without a range); one stream per call. */
  stream(range?: { start: number; end: number }): Readable;
  /** Releases the blob when no stream was taken (a stream releases it when it ends or is destroyed). */
  close(): Promise<void>;
}

export interface BlobStore {
  /**
   * Stores durably: when this resolves, the blob survives a crash; until then readers see the
   * old blob or none, never part of the new one. Overwrites. A stream is written as it comes
   * (a large artifact is never held whole); one that fails leaves nothing under the key.
   */
  put(key: string, data: Buffer | Readable): Promise<void>;
  /** The whole blob in memory: for small things (records, sample images being exported). */
  get(key: string): Promise<Buffer | undefined>;
  /**
   * The blob for streaming, undefined when absent. Serving a model artifact must not hold it in
   * memory: 40 slow downloads of a 15 MB model once took a hub from 105 MB to 700 MB.
   */
  open(key: string): Promise<OpenBlob | undefined>;
  delete(key: string): Promise<void>;
  /** When the blob was last written (epoch ms), undefined when absent: how old an unreferenced image is. */
  modifiedAt(key: string): Promise<number | undefined>;
  /** Keys under a prefix ("samples/"), every key once. */
  list(prefix: string): AsyncIterable<string>;
  /** Lets go of connections (a network store); the store is not used after. */
  close(): Promise<void>;
}

/** `(deviceId, id)` as one string, for sets and maps. */
export function sampleKey(deviceId: string, id: string): string {
  return `${deviceId}/${id}`;
}

import { KestrelError } from '@kestrel/core';
import type { DriftRecord, FleetDeviceRecord, RolloutStatus, SampleRecord, ShadowRecord, ShadowReportRecord, StoredRollout, TokenRecord, TokenRole } from './types.js';

/**
 * What the record stores share beyond SQL: page sizes, the paging cursor, the sample row's
 * columns and the rows as read back, so that both stores page the same way, a cursor means the
 * same in each, and a record read from either is the same object.
 */

export const MAX_PAGE = 1000;

export function pageLimit(limit: number | undefined): number {
  return Math.min(MAX_PAGE, Math.max(1, limit ?? 100));
}

/** A page ends at a (capturedAt, deviceId, id) position; the next starts after it. */
export function encodeCursor(s: SampleRecord): string {
  return Buffer.from(JSON.stringify([s.capturedAt, s.deviceId, s.id])).toString('base64url');
}

export function decodeCursor(cursor: string): [number, string, string] {
  try {
    const value = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as unknown;
    if (Array.isArray(value) && value.length === 3 && typeof value[0] === 'number' && typeof value[1] === 'string' && typeof value[2] === 'string') {
      return value as [number, string, string];
    }
  } catch {
    // reported below
  }
  throw new KestrelError('E_HUB_QUERY', `"after" is not a cursor this hub issued: ${cursor.slice(0, 40)}`);
}

/** The samples table's columns in insert order, each with its value (JSON columns as JSON text). */
export function sampleColumns(): { column: string; value: (s: SampleRecord) => unknown }[] {
  return [
    { column: 'device_id', value: (s) => s.deviceId },
    { column: 'id', value: (s) => s.id },
    { column: 'camera', value: (s) => s.camera },
    { column: 'captured_at', value: (s) => s.capturedAt },
    { column: 'received_at', value: (s) => s.receivedAt },
    { column: 'model_version', value: (s) => s.modelVersion },
    { column: 'reasons', value: (s) => JSON.stringify(s.reasons) },
    { column: 'detections', value: (s) => JSON.stringify(s.detections) },
    { column: 'shadow', value: (s) => (s.shadow ? JSON.stringify(s.shadow) : null) },
    { column: 'reviewed', value: (s) => (s.reviewed ? JSON.stringify(s.reviewed.labels) : null) },
    { column: 'reviewed_by', value: (s) => s.reviewed?.by ?? null },
    { column: 'reviewed_at', value: (s) => s.reviewed?.at ?? null },
    { column: 'frame_width', value: (s) => s.frameSize[0] },
    { column: 'frame_height', value: (s) => s.frameSize[1] },
    { column: 'image_width', value: (s) => s.imageSize[0] },
    { column: 'image_height', value: (s) => s.imageSize[1] },
    { column: 'hash', value: (s) => s.hash ?? null },
    { column: 'blob_key', value: (s) => s.blobKey },
    { column: 'bytes', value: (s) => s.bytes },
  ];
}

/** A drift_cameras row as both stores read it (SQLite's 0/1 and JSON text turned to boolean and object first). */
export interface DriftRow {
  device_id: string;
  camera: string;
  at: number;
  since: number;
  drifted: boolean | number;
  psi: number;
  js: number;
  model_version: string;
  received_at: number;
  detail: Json<DriftRecord['detail']>;
}

export function fromDriftRow(r: DriftRow): DriftRecord {
  return {
    deviceId: r.device_id,
    camera: r.camera,
    at: r.at,
    since: r.since,
    drifted: Boolean(r.drifted),
    psi: r.psi,
    js: r.js,
    modelVersion: r.model_version,
    receivedAt: r.received_at,
    detail: json(r.detail),
  };
}

/**
 * A JSON column as a store reads it: PostgreSQL's jsonb arrives parsed, SQLite's TEXT as a
 * string (every such column holds an object or an array, never a bare JSON string, so a string
 * is always text still to parse).
 */
export type Json<T> = T | string;

export function json<T>(value: Json<T>): T {
  return (typeof value === 'string' ? JSON.parse(value) : value) as T;
}

/** A samples row as both stores read it. */
export interface SampleRow {
  device_id: string;
  id: string;
  camera: string;
  captured_at: number;
  received_at: number;
  model_version: string;
  reasons: Json<string[]>;
  detections: Json<SampleRecord['detections']>;
  shadow: Json<NonNullable<SampleRecord['shadow']>> | null;
  reviewed: Json<SampleRecord['detections']> | null;
  reviewed_by: string | null;
  reviewed_at: number | null;
  frame_width: number;
  frame_height: number;
  image_width: number;
  image_height: number;
  hash: string | null;
  blob_key: string;
  bytes: number;
}

export interface TokenRow {
  hash: string;
  name: string;
  role: TokenRole;
  created_at: number;
  revoked_at: number | null;
}

/** A fleet_devices row (SQLite's `online` is 0/1). `model` is JSON text in both stores. */
export interface FleetRow {
  device_id: string;
  online: boolean | number;
  agent_version: string | null;
  model: string | null;
  cameras: Json<FleetDeviceRecord['cameras']>;
  degraded: Json<string[]>;
  last_seen: number;
}

export interface RolloutRow {
  id: string;
  status: RolloutStatus;
  started_at: number;
  updated_at: number;
  state: Json<unknown>;
  abort_by: string | null;
  abort_at: number | null;
  lease_holder: string | null;
  lease_expires: number | null;
}

export function fromSampleRow(r: SampleRow): SampleRecord {
  return {
    deviceId: r.device_id,
    id: r.id,
    camera: r.camera,
    capturedAt: r.captured_at,
    receivedAt: r.received_at,
    modelVersion: r.model_version,
    reasons: json(r.reasons),
    detections: json(r.detections),
    ...(r.shadow ? { shadow: json(r.shadow) } : {}),
    ...(r.reviewed !== null ? { reviewed: { labels: json(r.reviewed), by: r.reviewed_by ?? '', at: r.reviewed_at ?? 0 } } : {}),
    frameSize: [r.frame_width, r.frame_height],
    imageSize: [r.image_width, r.image_height],
    ...(r.hash ? { hash: r.hash } : {}),
    blobKey: r.blob_key,
    bytes: r.bytes,
  };
}

export function fromTokenRow(r: TokenRow): TokenRecord {
  return { hash: r.hash, name: r.name, role: r.role, createdAt: r.created_at, ...(r.revoked_at !== null ? { revokedAt: r.revoked_at } : {}) };
}

export function fromFleetRow(r: FleetRow): FleetDeviceRecord {
  return {
    deviceId: r.device_id,
    online: Boolean(r.online),
    ...(r.agent_version ? { agentVersion: r.agent_version } : {}),
    ...(r.model !== null ? { model: JSON.parse(r.model) as FleetDeviceRecord['model'] } : {}),
    cameras: json(r.cameras),
    degraded: json(r.degraded),
    lastSeen: r.last_seen,
  };
}

export function fromRolloutRow(r: RolloutRow): StoredRollout {
  return {
    id: r.id,
    status: r.status,
    startedAt: r.started_at,
    updatedAt: r.updated_at,
    state: json(r.state),
    ...(r.abort_at !== null ? { abortRequested: { by: r.abort_by ?? '', at: r.abort_at } } : {}),
    ...(r.lease_holder !== null ? { lease: { holder: r.lease_holder, expiresAt: r.lease_expires ?? 0 } } : {}),
  };
}

/** A shadows row as both stores read it (JSON columns as text in SQLite, parsed in PostgreSQL). */
export interface ShadowRow {
  id: string;
  release: string;
  share: number;
  until: number;
  created_at: number;
  created_by: string;
  targets: Json<string[]>;
  manifest: Json<ShadowRecord['manifest']>;
  stopped_by: string | null;
  stopped_at: number | null;
}

export function fromShadowRow(r: ShadowRow): ShadowRecord {
  return {
    id: r.id,
    release: r.release,
    share: r.share,
    until: r.until,
    createdAt: r.created_at,
    createdBy: r.created_by,
    targets: json(r.targets),
    manifest: json(r.manifest),
    ...(r.stopped_at !== null && r.stopped_by !== null ? { stopped: { by: r.stopped_by, at: r.stopped_at } } : {}),
  };
}

export interface ShadowReportRow {
  shadow_id: string;
  device_id: string;
  at: number;
  received_at: number;
  report: Json<ShadowReportRecord['report']>;
}

export function fromShadowReportRow(r: ShadowReportRow): ShadowReportRecord {
  return { shadowId: r.shadow_id, deviceId: r.device_id, at: r.at, receivedAt: r.received_at, report: json(r.report) };
}

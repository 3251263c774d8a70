import { KestrelError } from '@kestrel/core';
import type { DriftRecord, SampleRecord, ShadowRecord, ShadowReportRecord } from './types.js';

/**
 * What the record stores share beyond SQL: page sizes, the paging cursor and the sample row's
 * columns, so that both stores page the same way and a cursor means the same in each.
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
  detail: DriftRecord['detail'] | string;
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
    detail: (typeof r.detail === 'string' ? JSON.parse(r.detail) : r.detail) as DriftRecord['detail'],
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
  targets: string[] | string;
  manifest: ShadowRecord['manifest'] | string;
  stopped_by: string | null;
  stopped_at: number | null;
}

const json = <T>(v: T | string): T => (typeof v === 'string' ? (JSON.parse(v) as T) : v);

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
  report: ShadowReportRecord['report'] | string;
}

export function fromShadowReportRow(r: ShadowReportRow): ShadowReportRecord {
  return { shadowId: r.shadow_id, deviceId: r.device_id, at: r.at, receivedAt: r.received_at, report: json(r.report) };
}

// The hub's operator API as the UI calls it: every request carries the operator token from
// sessionStorage as a Bearer header (the token never goes into a URL, a cookie or localStorage,
// so it ends with the tab).

const TOKEN_KEY = 'kestrel.operatorToken';

export function savedToken(): string | null {
  return sessionStorage.getItem(TOKEN_KEY);
}
export function saveToken(token: string): void {
  sessionStorage.setItem(TOKEN_KEY, token);
}
export function forgetToken(): void {
  sessionStorage.removeItem(TOKEN_KEY);
}

/** A refusal from the hub: its status and `{ error: { code, message } }`. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** Called when the hub says the token is not (or no longer) good: the app goes back to sign-in. */
let onUnauthorized: () => void = () => undefined;
export function setUnauthorizedHandler(fn: () => void): void {
  onUnauthorized = fn;
}

export async function api<T>(path: string, init: { method?: string; body?: unknown; token?: string } = {}): Promise<T> {
  const token = init.token ?? savedToken();
  const res = await fetch(path, {
    method: init.method ?? 'GET',
    headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(init.body !== undefined ? { 'content-type': 'application/json' } : {}) },
    body: init.body !== undefined ? JSON.stringify(init.body) : undefined,
  });
  const text = await res.text();
  let body: unknown;
  try {
    body = text ? JSON.parse(text) : undefined;
  } catch {
    body = undefined;
  }
  if (!res.ok) {
    const error = (body as { error?: { code?: string; message?: string } } | undefined)?.error;
    if (res.status === 401 && !init.token) onUnauthorized();
    throw new ApiError(res.status, error?.code ?? `HTTP_${res.status}`, error?.message ?? `${res.status} ${res.statusText}`);
  }
  return body as T;
}

/** A sample's JPEG as an object URL (an <img> cannot send the Bearer header itself). */
export async function imageUrl(path: string): Promise<string> {
  const token = savedToken();
  const res = await fetch(path, { headers: token ? { authorization: `Bearer ${token}` } : {} });
  if (!res.ok) throw new ApiError(res.status, 'E_IMAGE', `the image did not load (${res.status})`);
  return URL.createObjectURL(await res.blob());
}

export type Box = [number, number, number, number];
export interface LabelBox {
  label: string;
  box: Box;
  score?: number;
}
export interface Sample {
  deviceId: string;
  id: string;
  camera: string;
  capturedAt: number;
  receivedAt: number;
  modelVersion: string;
  reasons: string[];
  detections: LabelBox[];
  reviewed?: { labels: LabelBox[]; by: string; at: number };
  frameSize: [number, number];
  imageSize: [number, number];
  image: string;
  uncertainty: number;
}
export interface QueueAnswer {
  samples: Sample[];
  progress: { reviewed: number; queued: number };
  rules: { classes?: string[]; maxLabelLength: number; maxLabels: number };
}
export interface QueueFilter {
  device?: string;
  camera?: string;
  label?: string;
  strategy?: string;
  reviewed?: 'true' | 'false';
}

export function queuePath(filter: QueueFilter, limit = 100): string {
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(filter)) if (v) params.set(k, v);
  params.set('limit', String(limit));
  return `/api/v1/review/queue?${params}`;
}

export function samplePath(s: Pick<Sample, 'deviceId' | 'id'>): string {
  return `/api/v1/samples/${encodeURIComponent(s.deviceId)}/${encodeURIComponent(s.id)}`;
}

export interface FleetDevice {
  deviceId: string;
  online: boolean;
  agentVersion?: string;
  model?: { name: string; version: string; sha256: string; provider: string } | null;
  cameras: Record<string, { state: string; fps: number }>;
  degraded: string[];
  lastSeen: number;
}

export interface Rollout {
  id: string;
  release: string;
  sequence: number;
  startedAt: number;
  finishedAt?: number;
  status: 'running' | 'completed' | 'aborted';
  reason?: string;
  waves: { devices: string[]; results: Record<string, { outcome: 'passed' | 'failed' | 'pending'; status?: string; reason?: string }>; sentAt?: number }[];
  rolledBack?: Record<string, string>;
  notStarted?: string[];
  /** Hub-run rollouts: the replica driving it now, and an operator's abort the driver has yet to act on. */
  driver?: string;
  abortRequested?: { by: string; at: number };
  startedBy?: string;
}

/** One model's side of a shadow (GET /api/v1/shadows), over every reporting device and camera. */
export interface ShadowSide {
  detections: number;
  perFrame: number | null;
  meanScore: number | null;
  latencyMeanMs: number | null;
  latencyP50Ms: number | null;
}

export interface Shadow {
  id: string;
  release: string;
  share: number;
  until: number;
  createdAt: number;
  createdBy: string;
  targets: string[];
  status: 'running' | 'stopped' | 'ended';
  stopped?: { by: string; at: number };
  devicesReporting: number;
  frames: number;
  matched: number;
  agreement: number | null;
  detectionRateRatio: number | null;
  latencyRatio: number | null;
  dropped: number;
  current: ShadowSide;
  candidate: ShadowSide;
  devices: { deviceId: string; status: string; reason?: string; at: number; frames: number; dropped: number; agreement: number | null }[];
}

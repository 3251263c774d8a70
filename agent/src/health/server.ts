import { createReadStream, statSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { KestrelError, type Logger } from '@kestrel/core';
import type { HealthReport } from './report.js';

export interface HealthServerOptions {
  host: string;
  port: number;
  health: () => HealthReport;
  metrics: () => Promise<string>;
  metricsContentType: string;
  /** A camera's snapshot JPEG by event id or label (undefined: none), for GET /api/cameras/<camera>/snapshot/<key>.jpg. */
  snapshot?: SnapshotLookup;
  /** A finished clip's file by camera and event id (undefined: none), for GET /api/cameras/<camera>/clip/<event id>.mp4. */
  clip?: ClipLookup;
  logger: Logger;
}

export type ClipLookup = (camera: string, trackId: string) => string | undefined;

export type SnapshotLookup = (camera: string, key: string, options: { drawBox?: boolean; crop?: boolean }) => Promise<Buffer | undefined>;

/** `/api/cameras/<camera>/snapshot/<event id or label>.jpg`, as Frigate's `/api/<camera>/<label>/snapshot.jpg` serves the latest. */
const SNAPSHOT_ROUTE = /^\/api\/cameras\/([^/]+)\/snapshot\/([^/]+)\.jpg$/;
/** `/api/cameras/<camera>/clip/<event id>.mp4`: an object's clip, as Frigate's `/api/events/<id>/clip.mp4`. */
const CLIP_ROUTE = /^\/api\/cameras\/([^/]+)\/clip\/([^/]+)\.mp4$/;

/**
 * GET /healthz (200 when healthy, else 503; JSON either way), GET /metrics (Prometheus text) and
 * GET /api/cameras/<camera>/snapshot/<event id or label>.jpg (`?bbox=0|1&crop=0|1`) and
 * GET /api/cameras/<camera>/clip/<event id>.mp4 (byte ranges).
 * Plain node:http: four read-only routes need no framework. Nothing here can change the agent.
 */
export class HealthServer {
  private server?: Server;

  constructor(private readonly options: HealthServerOptions) {}

  /** Listens; a port already taken is a clear error naming the address (http.bind). */
  async start(): Promise<AddressInfo> {
    const { host, port, logger } = this.options;
    const server = createServer((req, res) => void this.handle(req, res));
    // Scrapers keep connections open; they must not hold up shutdown.
    server.keepAliveTimeout = 5000;
    await new Promise<void>((resolve, reject) => {
      server.once('error', (err: NodeJS.ErrnoException) => {
        const why = err.code === 'EADDRINUSE' ? 'is already in use' : err.code === 'EADDRNOTAVAIL' ? 'is not an address of this machine' : err.code === 'EACCES' ? 'needs privileges this user lacks' : err.message;
        reject(new KestrelError('E_HTTP_BIND', `cannot serve /healthz and /metrics on ${host}:${port}: the address ${why} (set http.bind, or http.enabled: false)`));
      });
      server.listen(port, host, () => resolve());
    });
    server.on('error', (err) => logger.warn({ err: err.message }, 'health server error'));
    this.server = server;
    const address = server.address() as AddressInfo;
    logger.info({ address: `${address.address}:${address.port}` }, 'serving /healthz and /metrics');
    return address;
  }

  async stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (!server) return;
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' && req.method !== 'HEAD') return send(res, 405, 'text/plain', 'only GET and HEAD\n', req.method, { Allow: 'GET, HEAD' });
    try {
      if (path === '/healthz') {
        const report = this.options.health();
        return send(res, report.status === 'ok' ? 200 : 503, 'application/json', `${JSON.stringify(report)}\n`, req.method);
      }
      if (path === '/metrics') return send(res, 200, this.options.metricsContentType, await this.options.metrics(), req.method);
      const snapshot = this.options.snapshot && SNAPSHOT_ROUTE.exec(path);
      if (snapshot) {
        const [camera, key] = [decoded(snapshot[1]), decoded(snapshot[2])];
        if (camera === undefined || key === undefined) return send(res, 400, 'text/plain', 'bad %-escape in the path\n', req.method);
        return await this.snapshot(req, res, camera, key);
      }
      const clip = this.options.clip && CLIP_ROUTE.exec(path);
      if (clip) {
        const [camera, trackId] = [decoded(clip[1]), decoded(clip[2])];
        if (camera === undefined || trackId === undefined) return send(res, 400, 'text/plain', 'bad %-escape in the path\n', req.method);
        return this.clip(req, res, camera, trackId);
      }
      return send(res, 404, 'text/plain', 'not found: try /healthz or /metrics\n', req.method);
    } catch (err) {
      this.options.logger.error({ err: (err as Error).message, path }, 'health endpoint failed');
      return send(res, 500, 'text/plain', `error: ${(err as Error).message}\n`, req.method);
    }
  }

  private async snapshot(req: IncomingMessage, res: ServerResponse, camera: string, key: string): Promise<void> {
    const query = new URL(req.url ?? '/', 'http://agent').searchParams;
    const options: { drawBox?: boolean; crop?: boolean } = {};
    for (const [name, field] of [['bbox', 'drawBox'], ['crop', 'crop']] as const) {
      const value = query.get(name);
      if (value === null) continue;
      const flag = FLAGS[value];
      if (flag === undefined) return send(res, 400, 'text/plain', `${name} must be 0 or 1, got ${JSON.stringify(value)}\n`, req.method);
      options[field] = flag;
    }
    const jpeg = await this.options.snapshot!(camera, key, options);
    if (!jpeg) return send(res, 404, 'text/plain', `no snapshot of ${JSON.stringify(key)} on camera ${JSON.stringify(camera)}\n`, req.method);
    return send(res, 200, 'image/jpeg', jpeg, req.method);
  }

  private clip(req: IncomingMessage, res: ServerResponse, camera: string, trackId: string): void {
    const path = this.options.clip!(camera, trackId);
    if (!path) return send(res, 404, 'text/plain', `no clip of ${JSON.stringify(trackId)} on camera ${JSON.stringify(camera)}\n`, req.method);
    serveFile(req, res, path, 'video/mp4');
  }
}

/** Serves a clip's MP4, with single byte ranges (a browser's video player seeks with them). */
function serveFile(req: IncomingMessage, res: ServerResponse, path: string, type: string): void {
  let size: number;
  try {
    size = statSync(path).size;
  } catch {
    return send(res, 404, 'text/plain', 'gone\n', req.method);
  }
  const range = req.headers.range;
  let start = 0;
  let end = size - 1;
  let status = 200;
  if (range !== undefined) {
    const m = /^bytes=(\d*)-(\d*)$/.exec(range.trim());
    const from = m?.[1] ? Number(m[1]) : undefined;
    const to = m?.[2] ? Number(m[2]) : undefined;
    // "bytes=-500" is the last 500 bytes.
    if (m && from === undefined && to !== undefined) [start, end] = [Math.max(0, size - to), size - 1];
    else if (m && from !== undefined) [start, end] = [from, Math.min(to ?? size - 1, size - 1)];
    if (!m || start > end || start >= size) {
      return send(res, 416, 'text/plain', `range not satisfiable: ${range} (size ${size})\n`, req.method, { 'Content-Range': `bytes */${size}` });
    }
    status = 206;
  }
  res.writeHead(status, {
    'Content-Type': type,
    'Content-Length': end - start + 1,
    'Accept-Ranges': 'bytes',
    'Cache-Control': 'no-store',
    ...(status === 206 && { 'Content-Range': `bytes ${start}-${end}/${size}` }),
  });
  if (req.method === 'HEAD') return void res.end();
  const stream = createReadStream(path, { start, end });
  stream.on('error', () => res.destroy());
  stream.pipe(res);
}

const FLAGS: Record<string, boolean | undefined> = { 1: true, true: true, 0: false, false: false };

/** A path level with its %-escapes decoded; undefined for a malformed escape (a client's mistake, not a server error). */
function decoded(level: string): string | undefined {
  try {
    return decodeURIComponent(level);
  } catch {
    return undefined;
  }
}

function send(res: ServerResponse, status: number, type: string, body: string | Buffer, method: string | undefined, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'Content-Type': type, 'Content-Length': Buffer.byteLength(body), 'Cache-Control': 'no-store', ...headers });
  res.end(method === 'HEAD' ? undefined : body);
}

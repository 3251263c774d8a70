import type { FastifyInstance } from 'fastify';
import { sendError } from '../hub/http/errors.js';
import type { BlobStore } from './ports.js';
import type { ReleaseRecord, ReleaseService } from './release-service.js';

export interface ReleaseRoutesDeps {
  releases: ReleaseService;
  blobs: BlobStore;
}

/** What the release listing shows (no storage keys). */
function publicRecord(record: ReleaseRecord) {
  const { artifactKey: _key, ...rest } = record;
  return rest;
}

/**
 * `GET /api/v1/releases`, `GET /api/v1/releases/:id` and `GET /api/v1/artifacts/:sha256` with
 * HTTP Range (one range: `bytes=a-b`, `bytes=a-`, `bytes=-n`), so a device on a flaky uplink
 * resumes a model download instead of starting over.
 */
export function registerReleaseRoutes(app: FastifyInstance, deps: ReleaseRoutesDeps): void {
  // Artifacts are not secret (devices verify them against signed manifests), but only the hub's
  // devices and operators pull them; the hub's access hook enforces this declaration.
  const pre = { config: { access: 'device+operator' as const } };

  app.get('/api/v1/releases', pre, async () => ({ releases: (await deps.releases.list()).map(publicRecord) }));

  app.get<{ Params: { id: string } }>('/api/v1/releases/:id', pre, async (request, reply) => {
    const record = await deps.releases.get(request.params.id);
    if (!record) return sendError(reply, 404, 'E_NOT_FOUND', `no release ${request.params.id}`);
    return publicRecord(record);
  });

  app.get<{ Params: { sha256: string } }>('/api/v1/artifacts/:sha256', pre, async (request, reply) => {
    const { sha256 } = request.params;
    if (!/^[0-9a-f]{64}$/.test(sha256)) return sendError(reply, 400, 'E_ARTIFACT_NAME', `artifact "${sha256}": an artifact is named by its SHA-256 (64 lower-case hex digits)`);
    const blob = await deps.blobs.open(`artifacts/${sha256}.onnx`);
    if (!blob) return sendError(reply, 404, 'E_NOT_FOUND', `no artifact ${sha256}`);
    const total = blob.size;
    reply.header('accept-ranges', 'bytes').header('etag', `"${sha256}"`).header('content-type', 'application/octet-stream');
    const range = request.headers.range;
    if (range === undefined) return reply.header('content-length', total).send(blob.stream());
    const parsed = parseRange(range, total);
    if (!parsed) {
      await blob.close();
      return sendError(reply.header('content-range', `bytes */${total}`), 416, 'E_RANGE', `range "${range}" is outside the artifact's ${total} bytes (or not one bytes=a-b, a- or -n range)`);
    }
    const [start, end] = parsed;
    // Streamed from the blob store: a slow device holds a file handle and a socket buffer, never
    // the artifact.
    return reply
      .code(206)
      .header('content-range', `bytes ${start}-${end}/${total}`)
      .header('content-length', end - start + 1)
      .send(blob.stream({ start, end }));
  });
}

/** One byte range of a `Range` header as [first, last] inclusive, or null when unsatisfiable. */
export function parseRange(header: string, total: number): [number, number] | null {
  const m = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!m || (m[1] === '' && m[2] === '')) return null;
  let start: number;
  let end: number;
  if (m[1] === '') {
    const suffix = Number(m[2]);
    if (suffix === 0) return null;
    start = Math.max(0, total - suffix);
    end = total - 1;
  } else {
    start = Number(m[1]);
    end = m[2] === '' ? total - 1 : Math.min(Number(m[2]), total - 1);
  }
  if (start >= total || end < start) return null;
  return [start, end];
}

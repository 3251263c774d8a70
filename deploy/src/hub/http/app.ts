import { readFileSync } from 'node:fs';
import Fastify, { type FastifyError, type FastifyInstance, type FastifyRequest } from 'fastify';
import type { Logger } from '@kestrel/core';
import type { BlobStore, RecordStore } from '../../store/types.js';
import { enforceRouteAccess, type DeclaredRoute } from './access.js';
import { IngestError, type SampleIngest } from '../ingest.js';
import { frameworkError, sendError, sendStoreError, storeError } from './errors.js';
import { STORE_UNAVAILABLE } from '../../store/errors.js';
import { filterFrom, QueryError, unknownParams } from './query.js';
import { publicSample } from './public-sample.js';
import { registerFleetRoutes } from './fleet-routes.js';
import { registerReviewRoutes } from './review-routes.js';
import type { ReviewService } from '../../review/service.js';

export interface HubAppDeps {
  records: RecordStore;
  blobs: BlobStore;
  ingest: SampleIngest;
  review: ReviewService;
  logger: Logger;
  bodyLimit: number;
  timeouts: { idleSeconds: number; headersSeconds: number; requestSeconds: number };
  tls?: { cert: string; key: string };
}

declare module 'fastify' {
  interface FastifyInstance {
    /** Every route registered so far with its declared access (release routes included). */
    declaredRoutes: DeclaredRoute[];
  }
}

/** The hub's HTTP API. Devices upload with their token; operators list, fetch and review. */
export function buildHubApp(deps: HubAppDeps): FastifyInstance {
  const { idleSeconds, headersSeconds, requestSeconds } = deps.timeouts;
  // Node's own defaults keep an idle or slow-body connection open for minutes (200 of each once
  // stayed open 210 s): every connection costs a socket and parser state, so each stage is bounded.
  // Node checks the header and request deadlines on a timer; once a second keeps them close.
  const serverOptions = { headersTimeout: headersSeconds * 1000, requestTimeout: requestSeconds * 1000, connectionsCheckingInterval: 1000 };
  const app = Fastify({
    logger: false,
    bodyLimit: deps.bodyLimit,
    connectionTimeout: idleSeconds * 1000,
    requestTimeout: requestSeconds * 1000,
    keepAliveTimeout: Math.min(idleSeconds, 5) * 1000,
    ...(deps.tls ? { https: { ...serverOptions, cert: readFileSync(deps.tls.cert), key: readFileSync(deps.tls.key) } } : { http: serverOptions }),
  }) as unknown as FastifyInstance;

  // The API speaks JSON only: anything else is a 415, not a string handed to the handlers.
  app.removeContentTypeParser(['text/plain']);

  const routes = enforceRouteAccess(app, deps.records);
  app.decorate('declaredRoutes', routes);

  app.setErrorHandler((err: FastifyError, request, reply) => {
    const known = frameworkError(err, deps.bodyLimit);
    if (known) return sendError(reply, known.status, known.code, known.message);
    const store = storeError(err);
    if (store) {
      deps.logger.warn({ err: store.message, url: request.url }, 'request failed: a store is unavailable');
      return sendStoreError(reply, store);
    }
    deps.logger.error({ err: err.message, url: request.url }, 'request failed');
    return sendError(reply, err.statusCode && err.statusCode < 500 ? err.statusCode : 500, 'E_HUB', err.message);
  });
  app.setNotFoundHandler((request, reply) => sendError(reply, 404, 'E_NOT_FOUND', `no such endpoint: ${request.method} ${request.url.split('?')[0]}`));

  app.get('/healthz', { config: { access: 'public' } }, async () => ({ ok: true }));

  app.post('/api/v1/samples', { config: { access: 'device' } }, async (request, reply) => {
    const caller = request.caller!;
    try {
      return await deps.ingest.ingestBatch(caller.name, request.body);
    } catch (err) {
      if (err instanceof IngestError) {
        deps.logger.warn({ device: caller.name, code: err.code, err: err.message }, 'sample batch refused');
        return err.code === STORE_UNAVAILABLE ? sendStoreError(reply, err) : sendError(reply, err.status, err.code, err.message);
      }
      throw err;
    }
  });

  app.get('/api/v1/samples', { config: { access: 'device+operator' } }, async (request, reply) => {
    const query = request.query as Record<string, string>;
    const unknown = unknownParams(query, ['limit', 'after']);
    if (unknown.length) return sendError(reply, 400, 'E_QUERY', `unknown query parameter ${unknown.map((k) => `"${k}"`).join(', ')} (known: device, camera, label, strategy, since, until, reviewed, limit, after)`);
    try {
      const filter = filterFrom(query);
      const scoped = scope(request, filter.deviceId);
      if (scoped.denied) return sendError(reply, 403, 'E_FORBIDDEN', scoped.denied);
      const limit = query.limit === undefined ? 100 : Number(query.limit);
      if (!Number.isInteger(limit) || limit < 1 || limit > 1000) return sendError(reply, 400, 'E_QUERY', `limit: must be a whole number from 1 to 1000, got "${query.limit}"`);
      const page = await deps.records.listSamples({ ...filter, deviceId: scoped.deviceId }, { limit, after: query.after });
      return { samples: page.samples.map(publicSample), ...(page.next ? { next: page.next } : {}) };
    } catch (err) {
      if (err instanceof QueryError || (err as { code?: string }).code === 'E_HUB_QUERY') return sendError(reply, 400, 'E_QUERY', (err as Error).message);
      throw err;
    }
  });

  app.get('/api/v1/samples/:device/:id/image', { config: { access: 'device+operator' } }, async (request, reply) => {
    const { device, id } = request.params as { device: string; id: string };
    const scoped = scope(request, device);
    if (scoped.denied) return sendError(reply, 403, 'E_FORBIDDEN', scoped.denied);
    const sample = await deps.records.getSample(device, id);
    const image = sample && (await deps.blobs.open(sample.blobKey));
    if (!image) return sendError(reply, 404, 'E_NOT_FOUND', `no sample "${id}" of device "${device}"`);
    return reply.type('image/jpeg').header('content-length', image.size).send(image.stream());
  });

  registerFleetRoutes(app, deps);
  registerReviewRoutes(app, deps);
  return app;
}

/** Operators see every device; a device sees only its own samples. */
function scope(request: FastifyRequest, wanted: string | undefined): { deviceId?: string; denied?: string } {
  const caller = request.caller!;
  if (caller.role === 'operator') return { deviceId: wanted };
  if (wanted !== undefined && wanted !== caller.name) return { denied: `the token of device "${caller.name}" sees only its own samples, not those of "${wanted}"` };
  return { deviceId: caller.name };
}

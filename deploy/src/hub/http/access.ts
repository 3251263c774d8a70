import type { FastifyInstance } from 'fastify';
import type { RecordStore, TokenRecord } from '../../store/types.js';
import { authenticate } from '../tokens.js';
import { sendError } from './errors.js';

/** Who may call a route: nobody needs a token, a device token, an operator token, or either. */
export type RouteAccess = 'public' | 'device' | 'operator' | 'device+operator';
/** A registered route and who may call it (the table tests walk). */
export interface DeclaredRoute {
  method: string;
  url: string;
  access: RouteAccess;
}

const ACCESS_KINDS: readonly RouteAccess[] = ['public', 'device', 'operator', 'device+operator'];

declare module 'fastify' {
  interface FastifyContextConfig {
    access?: RouteAccess;
  }
  interface FastifyRequest {
    /** The authenticated token; set on every route that is not public. */
    caller?: TokenRecord;
  }
}

/**
 * Access is decided on the route the router matched, never on the raw URL: `/%61pi/v1/...`,
 * `//api` or `/./api` reach the same handler as `/api/...`, so a prefix test on `request.url`
 * let them through unauthenticated. Every route must declare its access, or registration
 * throws, so a new route cannot be forgotten open. Call before registering any route.
 */
export function enforceRouteAccess(app: FastifyInstance, records: RecordStore): DeclaredRoute[] {
  const declared: DeclaredRoute[] = [];
  app.addHook('onRoute', (route) => {
    const access = (route.config as { access?: unknown } | undefined)?.access;
    if (!ACCESS_KINDS.includes(access as RouteAccess)) {
      throw new Error(`route ${String(route.method)} ${route.url} declares no access: set config.access to one of ${ACCESS_KINDS.join(', ')}`);
    }
    for (const method of [route.method].flat()) declared.push({ method, url: route.url, access: access as RouteAccess });
  });

  // onRequest runs after routing and before the body is read: an unknown caller never makes the hub parse megabytes.
  app.addHook('onRequest', async (request, reply) => {
    if (request.is404) return; // the not-found handler answers 404 and reveals nothing
    const access = request.routeOptions.config.access;
    if (access === 'public') return;
    const auth = await authenticate(records, request.headers.authorization);
    if (!auth.ok) {
      reply.header('www-authenticate', 'Bearer realm="kestrel-hub"');
      return sendError(reply, 401, 'E_AUTH', auth.message);
    }
    const role = auth.token.role;
    if (access !== 'device+operator' && access !== role) {
      return sendError(reply, 403, 'E_FORBIDDEN', `${request.method} ${request.routeOptions.url} is for ${access} tokens; this is the ${role} token of "${auth.token.name}"`);
    }
    request.caller = auth.token;
  });
  return declared;
}

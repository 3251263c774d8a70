import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance } from 'fastify';

/**
 * The review UI's build folder: deploy/ui/dist, made by `npm run build:ui` (part of `prepare`, so
 * `npm ci` builds it). The same two levels up from src/hub/http and dist/hub/http.
 */
export const UI_DIST = fileURLToPath(new URL('../../../ui/dist/', import.meta.url));

// The UI runs no inline script or style and loads nothing from elsewhere: a page that only talks to
// its own hub cannot be made to send the operator token anywhere else.
const CSP = "default-src 'self'; img-src 'self' blob:; style-src 'self'; script-src 'self'; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

/**
 * Serves the review UI from the hub itself: `/` redirects to `/ui/`, and `/ui/*` are the built
 * files. They are public (they hold no data); every API call the page makes carries the
 * operator token. @fastify/static only lends `reply.sendFile` (serve: false) so that these routes,
 * like every other, declare their access.
 */
export async function registerUiRoutes(app: FastifyInstance, root = UI_DIST): Promise<void> {
  const built = existsSync(`${root}/index.html`);
  await app.register(fastifyStatic, { root, serve: false, decorateReply: true });
  const pub = { config: { access: 'public' as const } };

  app.get('/', pub, async (_request, reply) => reply.redirect('/ui/'));
  app.get('/ui', pub, async (_request, reply) => reply.redirect('/ui/'));
  app.get('/ui/', pub, async (_request, reply) => {
    if (!built) return reply.code(503).type('text/plain').send(`The review UI is not built in this install (no ${root}index.html): run npm run build:ui.\n`);
    return reply.header('content-security-policy', CSP).header('cache-control', 'no-cache').sendFile('index.html');
  });
  app.get('/ui/*', pub, async (request, reply) => {
    const file = (request.params as { '*': string })['*'];
    return reply.header('content-security-policy', CSP).header('cache-control', 'no-cache').sendFile(file);
  });
}

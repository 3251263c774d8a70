// Every route of a real hub, called over raw HTTP (the path sent as-is, no client normalising it)
// under spellings that route to the same handler: without a token, with a wrong one and with the
// other role's token, the answer is 401/403/404, never the resource and never a crash.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Fastify from 'fastify';
import { Hub, issueToken, parseHubConfig } from '@kestrel/deploy';
import { enforceRouteAccess } from '../../deploy/src/hub/http/access.js';
import { freePort } from '../support/ports.js';

const quiet = { info() {}, warn() {}, error() {}, debug() {}, child() { return quiet; } } as never;
let hub: Hub;
let deviceToken: string;
let operatorToken: string;

before(async () => {
  const dir = mkdtempSync(join(tmpdir(), 'kestrel-access-'));
  const port = await freePort();
  hub = new Hub(parseHubConfig(`bind: 127.0.0.1:${port}\ndataDir: data\nmqtt: { enabled: false }\n`, { name: 'hub.yaml', baseDir: dir }), quiet);
  await hub.start();
  const stores = (hub as unknown as { stores: { records: Parameters<typeof issueToken>[0]; blobs: { put(key: string, data: Buffer): Promise<void> } } }).stores;
  const records = stores.records;
  await stores.blobs.put(`artifacts/${'b'.repeat(64)}.onnx`, Buffer.alloc(100, 7));
  deviceToken = (await issueToken(records, 'pi-1', 'device')).token;
  operatorToken = (await issueToken(records, 'alice', 'operator')).token;
});
after(() => hub?.stop());

function rawRequest(method: string, path: string, token?: string): Promise<{ status: number; body: string }> {
  const { hostname, port } = new URL(hub.url);
  return new Promise((resolve, reject) => {
    const req = request({ agent: false, host: hostname, port, method, path, headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), 'content-type': 'application/json' } }, (res) => {
      let body = '';
      res.on('data', (c) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode!, body }));
    });
    req.on('error', reject);
    // A well-formed JSON body on the methods that take one: the walk is about tokens, not about an empty body.
    req.end(method === 'POST' ? '{"samples":[]}' : method === 'PUT' ? '{"labels":[],"expectedAt":null}' : undefined);
  });
}

/** Spellings a router may decode or normalise to the same route. */
function spellings(url: string): string[] {
  const path = url.replace(/:([a-z0-9]+)/gi, (_m, name: string) => (name === 'sha256' ? 'a'.repeat(64) : 'x'));
  const rest = path.slice('/api'.length);
  return [path, `/%61pi${rest}`, `//api${rest}`, `/./api${rest}`, `/API${rest}`, `${path}/`, `/${path.slice(1).replace(/\//g, '%2F')}`, `/api%2F${rest.slice(1)}`, `/%2561pi${rest}`];
}

test('every route declares its access, and the protected ones refuse every spelling without the right token', async () => {
  const routes = hub.routes();
  assert.ok(routes.length >= 8, `the hub registered its routes (${routes.map((r) => `${r.method} ${r.url}`).join(', ')})`);
  assert.ok(routes.some((r) => r.url === '/api/v1/artifacts/:sha256'), 'release routes are in the table');
  const checked: string[] = [];
  for (const route of routes) {
    if (route.access === 'public') continue;
    const wrongRole = route.access === 'device' ? [operatorToken] : route.access === 'operator' ? [deviceToken] : [];
    for (const path of spellings(route.url)) {
      for (const token of [undefined, 'kst_not-a-token', ...wrongRole]) {
        const res = await rawRequest(route.method, path, token);
        const what = `${route.method} ${path} (${route.access}) with ${token === undefined ? 'no token' : token === 'kst_not-a-token' ? 'a wrong token' : 'the other role\'s token'}: ${res.status} ${res.body.slice(0, 120)}`;
        checked.push(what);
        assert.ok([401, 403, 404].includes(res.status), what);
        if (res.body && route.method !== 'HEAD') assert.ok(JSON.parse(res.body).error.code, what);
      }
    }
  }
  assert.ok(checked.length > 100, `walked ${checked.length} requests`);
});

test('the right token still reaches the routes (the walk above is not passing by refusing everything)', async () => {
  assert.equal((await rawRequest('GET', '/api/v1/releases', deviceToken)).status, 200);
  assert.equal((await rawRequest('GET', '/api/v1/devices', operatorToken)).status, 200);
  assert.equal((await rawRequest('GET', '/healthz')).status, 200);
});

test('a route registered without declaring its access fails at registration, naming the route', async () => {
  const app = Fastify();
  enforceRouteAccess(app as never, {} as never);
  assert.throws(() => app.get('/api/v1/forgotten', async () => 'open'), /GET \/api\/v1\/forgotten declares no access: set config.access/);
  assert.doesNotThrow(() => app.get('/api/v1/declared', { config: { access: 'operator' } }, async () => 'closed'));
  await app.close();
});

test("release routes refuse in the API's error shape, naming what is wrong", async () => {
  const cases: Array<[string, string | undefined, number, string, RegExp]> = [
    ['/api/v1/releases/nope@1', undefined, 404, 'E_NOT_FOUND', /no release nope@1/],
    ['/api/v1/artifacts/xyz', undefined, 400, 'E_ARTIFACT_NAME', /artifact "xyz": an artifact is named by its SHA-256/],
    [`/api/v1/artifacts/${'c'.repeat(64)}`, undefined, 404, 'E_NOT_FOUND', /no artifact c{64}/],
    [`/api/v1/artifacts/${'b'.repeat(64)}`, 'bytes=100-', 416, 'E_RANGE', /range "bytes=100-" is outside the artifact's 100 bytes/],
  ];
  for (const [path, range, status, code, message] of cases) {
    const res = await fetch(hub.url + path, { headers: { authorization: `Bearer ${deviceToken}`, ...(range ? { range } : {}) } });
    const body = (await res.json()) as { error: { code: string; message: string } };
    assert.equal(res.status, status, path);
    assert.equal(body.error.code, code, path);
    assert.match(body.error.message, message);
  }
});

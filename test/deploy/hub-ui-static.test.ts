// The hub serves its review UI from the build folder on public routes: the page and its assets
// with a strict Content-Security-Policy, nothing outside that folder, and no data without a token.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { buildUi } from '../../deploy/ui/build.mjs';
import { startHub, type HubProcess } from './support/hub-process.js';

let hub: HubProcess;
before(async () => {
  await buildUi();
  hub = await startHub();
});
after(() => hub?.stop());

/** A GET with the path sent exactly as written (fetch would normalise `..`). */
function rawGet(path: string): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }> {
  const { hostname, port } = new URL(hub.url);
  return new Promise((resolve, reject) => {
    const req = request({ agent: false, host: hostname, port, method: 'GET', path }, (res) => {
      let body = '';
      res.on('data', (c) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

test('/ leads to the UI, whose page and assets are served with a CSP that allows only this hub', async () => {
  const root = await rawGet('/');
  assert.equal(root.status, 302);
  assert.equal(root.headers.location, '/ui/');
  const page = await rawGet('/ui/');
  assert.equal(page.status, 200);
  assert.match(String(page.headers['content-type']), /text\/html/);
  assert.match(page.body, /<script type="module" src="\/ui\/app.js">/);
  assert.match(String(page.headers['content-security-policy']), /default-src 'self'.*frame-ancestors 'none'/);
  const script = await rawGet('/ui/app.js');
  assert.equal(script.status, 200);
  assert.match(String(script.headers['content-type']), /javascript/);
  const css = await rawGet('/ui/app.css');
  assert.equal(css.status, 200);
  // No CDN: the page and its styles name no other origin.
  assert.doesNotMatch(page.body + css.body, /https?:\/\//);
});

test('nothing outside the build folder is served, whatever the spelling', async () => {
  for (const path of ['/ui/../package.json', '/ui/%2e%2e/package.json', '/ui/..%2fpackage.json', '/ui/%2e%2e%2f%2e%2e%2fsrc%2fhub%2fhub.ts', '/ui/nope.js']) {
    const res = await rawGet(path);
    assert.ok([400, 403, 404].includes(res.status), `${path}: ${res.status} ${res.body.slice(0, 100)}`);
    assert.ok(!res.body.includes('"workspaces"') && !res.body.includes('class Hub'), `${path} leaked a file`);
  }
});

test('the UI is public, the data behind it is not', async () => {
  const queue = await fetch(`${hub.url}/api/v1/review/queue`);
  assert.equal(queue.status, 401);
  const rollouts = await fetch(`${hub.url}/api/v1/rollouts`);
  assert.equal(rollouts.status, 401);
});

// The review API of a real hub: the queue in review order with progress, saving a review, and
// each kind of bad input answered with a clear 4xx and nothing changed.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { getJson, postSamples, startHub, type HubProcess } from './support/hub-process.js';
import { photoJpeg, samplePayload } from './support/samples.js';

let hub: HubProcess;
let operator: string;
let device: string;
const t0 = Date.UTC(2025, 5, 1);

before(async () => {
  hub = await startHub({ extraConfig: ['review: { classes: [person, cat, dog, forklift] }'] });
  const image = await photoJpeg('astronaut', 320);
  device = await hub.token('pi-rev');
  operator = await hub.token('alice', 'operator');
  const samples = [
    // Kept at random, with a sure detection: last in the queue.
    samplePayload('pi-rev', image, { id: 'a-random', capturedAt: t0, reasons: ['random'], detections: [{ label: 'person', score: 0.9, box: [10, 10, 100, 100] }] }),
    // Uncertain at 0.45 (close to 0.5): first.
    samplePayload('pi-rev', image, { id: 'b-unsure', capturedAt: t0 + 1, reasons: ['uncertainty'], detections: [{ label: 'person', score: 0.45, box: [100, 60, 300, 400] }] }),
    // Uncertain at 0.3: second.
    samplePayload('pi-rev', image, { id: 'c-less-unsure', capturedAt: t0 + 2, camera: 'yard', reasons: ['uncertainty', 'random'], detections: [{ label: 'dog', score: 0.3, box: [0, 0, 50, 50] }] }),
    samplePayload('pi-rev', image, { id: 'd-rare', capturedAt: t0 + 3, reasons: ['rareClass'], detections: [{ label: 'cat', score: 0.8, box: [0, 0, 50, 50] }] }),
  ];
  const res = await postSamples(hub.url, device, { samples });
  assert.equal(res.status, 200, JSON.stringify(res.body));
});
after(() => hub?.stop());

async function put(path: string, body: unknown, token = operator): Promise<{ status: number; body: any }> {
  const res = await fetch(`${hub.url}${path}`, { method: 'PUT', headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` }, body: JSON.stringify(body) });
  return { status: res.status, body: await res.json() };
}
const reviewPath = (id: string) => `/api/v1/samples/pi-rev/${id}/review`;
const stored = async (id: string) => (await hub.stores().records.getSample('pi-rev', id))!;

test('the queue puts the most uncertain first, filters like the listing, and counts progress', async () => {
  const { status, body } = await getJson(`${hub.url}/api/v1/review/queue`, operator);
  assert.equal(status, 200, JSON.stringify(body));
  assert.deepEqual(body.samples.map((s: { id: string }) => s.id), ['b-unsure', 'c-less-unsure', 'd-rare', 'a-random']);
  assert.deepEqual(body.progress, { reviewed: 0, queued: 4 });
  assert.deepEqual(body.rules.classes, ['person', 'cat', 'dog', 'forklift']);
  assert.match(body.samples[0].image, /^\/api\/v1\/samples\/pi-rev\/b-unsure\/image$/);
  assert.equal(body.samples[0].blobKey, undefined, 'no storage keys');

  const yard = await getJson(`${hub.url}/api/v1/review/queue?camera=yard`, operator);
  assert.deepEqual(yard.body.samples.map((s: { id: string }) => s.id), ['c-less-unsure']);
  const rare = await getJson(`${hub.url}/api/v1/review/queue?strategy=rareClass`, operator);
  assert.deepEqual(rare.body.samples.map((s: { id: string }) => s.id), ['d-rare']);
  const dogs = await getJson(`${hub.url}/api/v1/review/queue?label=dog&device=pi-rev`, operator);
  assert.deepEqual(dogs.body.samples.map((s: { id: string }) => s.id), ['c-less-unsure']);
  const bad = await getJson(`${hub.url}/api/v1/review/queue?colour=red`, operator);
  assert.equal(bad.status, 400);
  assert.equal(bad.body.error.code, 'E_QUERY');
  const devicesCannot = await getJson(`${hub.url}/api/v1/review/queue`, device);
  assert.equal(devicesCannot.status, 403);
});

test('a review is saved with who and when, leaves the queue, and the next save must send its revision', async () => {
  const labels = [{ label: 'person', box: [110, 70, 290, 390] }, { label: 'forklift', box: [400, 300, 600, 460] }];
  const saved = await put(reviewPath('d-rare'), { labels, expectedAt: null });
  assert.equal(saved.status, 200, JSON.stringify(saved.body));
  assert.equal(saved.body.reviewed.by, 'alice');
  assert.deepEqual(saved.body.reviewed.labels, labels);
  assert.deepEqual((await stored('d-rare')).reviewed?.labels, labels);

  const queue = await getJson(`${hub.url}/api/v1/review/queue`, operator);
  assert.ok(!queue.body.samples.some((s: { id: string }) => s.id === 'd-rare'));
  assert.deepEqual(queue.body.progress, { reviewed: 1, queued: 3 });
  const reviewed = await getJson(`${hub.url}/api/v1/review/queue?reviewed=true`, operator);
  assert.deepEqual(reviewed.body.samples.map((s: { id: string }) => s.id), ['d-rare']);

  // Editing it again from what was saved works; "nothing here" is an empty list.
  const again = await put(reviewPath('d-rare'), { labels: [], expectedAt: saved.body.reviewed.at });
  assert.equal(again.status, 200, JSON.stringify(again.body));
  assert.ok(again.body.reviewed.at > saved.body.reviewed.at, 'each save has a later revision');
  assert.deepEqual((await stored('d-rare')).reviewed?.labels, []);
  const one = await getJson(`${hub.url}/api/v1/samples/pi-rev/d-rare`, operator);
  assert.deepEqual(one.body.reviewed.labels, []);
});

test('a stale edit is a 409 and keeps what the other person saved', async () => {
  const first = await put(reviewPath('c-less-unsure'), { labels: [{ label: 'dog', box: [0, 0, 60, 60] }], expectedAt: null });
  assert.equal(first.status, 200);
  // A second editor loaded the sample before that save: it still sends expectedAt null.
  const second = await put(reviewPath('c-less-unsure'), { labels: [{ label: 'cat', box: [0, 0, 60, 60] }], expectedAt: null });
  assert.equal(second.status, 409, JSON.stringify(second.body));
  assert.equal(second.body.error.code, 'E_REVIEW_STALE');
  assert.match(second.body.error.message, /alice/);
  const wrongRevision = await put(reviewPath('c-less-unsure'), { labels: [], expectedAt: first.body.reviewed.at - 1 });
  assert.equal(wrongRevision.status, 409);
  assert.deepEqual((await stored('c-less-unsure')).reviewed?.labels, [{ label: 'dog', box: [0, 0, 60, 60] }]);
});

test('bad reviews are refused with a clear 4xx and change nothing', async () => {
  const before = await stored('b-unsure');
  const cases: [string, unknown, number, string, RegExp][] = [
    ['a sample that does not exist', { path: reviewPath('no-such'), body: { labels: [], expectedAt: null } }, 404, 'E_NOT_FOUND', /no sample "no-such"/],
    ['a box past the frame (640×ih)', { labels: [{ label: 'person', box: [500, 10, 700, 100] }], expectedAt: null }, 400, 'E_REVIEW_BOX', /outside the 640×\d+ frame/],
    ['a negative coordinate', { labels: [{ label: 'person', box: [-5, 10, 100, 100] }], expectedAt: null }, 400, 'E_REVIEW_BOX', /outside/],
    ['an inverted box', { labels: [{ label: 'person', box: [100, 100, 50, 150] }], expectedAt: null }, 400, 'E_REVIEW_BOX', /x2 must exceed x1/],
    ['a box of three numbers', { labels: [{ label: 'person', box: [1, 2, 3] }], expectedAt: null }, 400, 'E_REVIEW_BOX', /four finite numbers/],
    ['a class not in review.classes', { labels: [{ label: 'unicorn', box: [0, 0, 10, 10] }], expectedAt: null }, 400, 'E_REVIEW_LABEL', /"unicorn" is not one of this hub's classes/],
    ['an empty class name', { labels: [{ label: '  ', box: [0, 0, 10, 10] }], expectedAt: null }, 400, 'E_REVIEW_LABEL', /1 to 64 characters/],
    ['a score on a reviewed label', { labels: [{ label: 'person', box: [0, 0, 10, 10], score: 0.9 }], expectedAt: null }, 400, 'E_REVIEW_BODY', /unknown field "score"/],
    ['no expectedAt', { labels: [] }, 400, 'E_REVIEW_BODY', /expectedAt is missing/],
    ['expectedAt not a number', { labels: [], expectedAt: 'yesterday' }, 400, 'E_REVIEW_BODY', /expectedAt/],
    ['labels not a list', { labels: 'person', expectedAt: null }, 400, 'E_REVIEW_BODY', /expected a list/],
    ['a body that is a list', [], 400, 'E_REVIEW_BODY', /send \{/],
  ];
  for (const [what, spec, status, code, message] of cases) {
    const { path, body } = (spec as { path?: string }).path ? (spec as { path: string; body: unknown }) : { path: reviewPath('b-unsure'), body: spec };
    const res = await put(path, body);
    assert.equal(res.status, status, `${what}: ${JSON.stringify(res.body)}`);
    assert.equal(res.body.error.code, code, what);
    assert.match(res.body.error.message, message, what);
  }
  const tokenless = await fetch(`${hub.url}${reviewPath('b-unsure')}`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: '{"labels":[],"expectedAt":null}' });
  assert.equal(tokenless.status, 401);
  const byDevice = await put(reviewPath('b-unsure'), { labels: [], expectedAt: null }, device);
  assert.equal(byDevice.status, 403);
  assert.deepEqual(await stored('b-unsure'), before, 'the sample is as it was');
});

test('without a class list any sensible name goes, and a 65-character one does not', async () => {
  const open = await startHub();
  try {
    const image = await photoJpeg('astronaut', 160);
    const token = await open.token('pi-open');
    const op = await open.token('bob', 'operator');
    await postSamples(open.url, token, { samples: [samplePayload('pi-open', image, { id: 's1' })] });
    const send = (label: string) =>
      fetch(`${open.url}/api/v1/samples/pi-open/s1/review`, { method: 'PUT', headers: { 'content-type': 'application/json', authorization: `Bearer ${op}` }, body: JSON.stringify({ labels: [{ label, box: [0, 0, 10, 10] }], expectedAt: null }) });
    const long = await send('x'.repeat(65));
    assert.equal(long.status, 400);
    assert.equal(((await long.json()) as any).error.code, 'E_REVIEW_LABEL');
    const ok = await send('pallet jack');
    assert.equal(ok.status, 200);
  } finally {
    await open.stop();
  }
});

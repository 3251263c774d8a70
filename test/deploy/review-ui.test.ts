// The review UI end to end, in Debian's Chromium driven by playwright-core, against a real hub
// (its own process, following a real MQTT broker): sign in with an operator token, work through
// the queue with the keyboard (move, resize, delete, add, change class, "nothing here", accept
// all), hit a stale edit, look at the fleet and the rollouts, and check that the COCO export
// carries the corrected boxes. Screenshots of each page go to test-artifacts/ui/.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt, { type MqttClient } from 'mqtt';
import { chromium, type Browser, type Page } from 'playwright-core';
import { encodePayload, topics, type DeviceState } from '@kestrel/core';
import { buildUi } from '../../deploy/ui/build.mjs';
import { startBroker, type BrokerHandle } from '../support/broker.js';
import { runKestrel } from '../support/cli.js';
import { REPO_ROOT } from '../support/images.js';
import { uniquePrefix } from '../support/ports.js';
import { postSamples, startHub, type HubProcess } from './support/hub-process.js';
import { photoJpeg, samplePayload } from './support/samples.js';

const CHROMIUM = '/usr/bin/chromium';
const SHOTS = join(REPO_ROOT, 'test-artifacts', 'ui');
const prefix = uniquePrefix('ui');
let broker: BrokerHandle;
let hub: HubProcess;
let client: MqttClient;
let browser: Browser;
let page: Page;
let operator: string;
const pageErrors: string[] = [];
const failedRequests: string[] = [];
const work = mkdtempSync(join(tmpdir(), 'kestrel-ui-'));
let imageHeight = 0;

function state(deviceId: string, degraded: string[]): DeviceState {
  const now = Date.now();
  return {
    schema: 1,
    agentVersion: '0.1.0',
    deviceId,
    startedAt: now - 60_000,
    updatedAt: now,
    model: { name: 'nanodet', version: '1.2.0', sha256: 'a'.repeat(64), decoder: 'nanodet', labelCount: 80, inputSize: [416, 416], provider: 'cpu' },
    cameras: degraded.length ? { yard: { state: 'failed', fps: 0, lastError: 'connection refused' } } : { door: { state: 'streaming', fps: 4.8 } },
    degraded,
  };
}

before(async () => {
  await buildUi();
  mkdirSync(SHOTS, { recursive: true });
  broker = await startBroker();
  hub = await startHub({ mqtt: { url: broker.url, prefix } });
  const image = await photoJpeg('astronaut', 320);
  imageHeight = image.height;
  const door = await hub.token('pi-door');
  await hub.token('pi-yard');
  operator = await hub.token('alice', 'operator');
  const t0 = Date.now() - 3_600_000;
  const res = await postSamples(hub.url, door, {
    samples: [
      samplePayload('pi-door', image, { id: 's-random', capturedAt: t0, reasons: ['random'], detections: [{ label: 'person', score: 0.9, box: [120, 80, 300, 420] }] }),
      samplePayload('pi-door', image, {
        id: 's-unsure',
        capturedAt: t0 + 1,
        reasons: ['uncertainty'],
        detections: [
          { label: 'person', score: 0.45, box: [100, 60, 300, 400] },
          { label: 'tie', score: 0.52, box: [280, 300, 330, 420] },
          { label: 'dog', score: 0.4, box: [0, 0, 40, 40] },
        ],
      }),
      samplePayload('pi-door', image, { id: 's-rare', capturedAt: t0 + 2, reasons: ['rareClass'], detections: [{ label: 'cat', score: 0.7, box: [400, 500, 500, 600] }] }),
    ],
  });
  assert.equal(res.status, 200, JSON.stringify(res.body));

  client = await mqtt.connectAsync(broker.url, { clientId: `test-${prefix}` });
  for (const [id, degraded] of [['pi-door', []], ['pi-yard', ['camera yard failed: connection refused']]] as const) {
    await client.publishAsync(topics(prefix, id).status, id === 'pi-door' ? 'online' : 'offline', { qos: 1, retain: true });
    await client.publishAsync(topics(prefix, id).state, encodePayload('state', state(id, [...degraded])), { qos: 1, retain: true });
  }
  // A rollout record as `kestrel deploy push` stores it: canary passed, wave 2 failed, aborted.
  const started = Date.now() - 600_000;
  await hub.stores().blobs.put(
    'rollouts/20250701T120000-abc123.json',
    Buffer.from(
      JSON.stringify({
        id: '20250701T120000-abc123',
        release: 'nanodet-1.3.0',
        sequence: 7,
        startedAt: started,
        finishedAt: started + 120_000,
        status: 'aborted',
        reason: 'wave 2: 1 device(s) failed: pi-yard: failed (smoke test: no output)',
        waves: [
          { devices: ['pi-door'], results: { 'pi-door': { outcome: 'passed', status: 'applied' } } },
          { devices: ['pi-yard'], results: { 'pi-yard': { outcome: 'failed', status: 'failed', reason: 'smoke test: no output' } } },
        ],
        rolledBack: { 'pi-door': 'nanodet-1.2.0' },
        notStarted: [],
      }),
    ),
  );

  // A rollout running in the hub, its canary wave sent and waiting for a verdict that will not
  // come (pi-door is no real device): the page offers to abort it.
  await hub.stores().records.insertRollout({
    id: '20250701T130000-def456',
    status: 'running',
    startedAt: started + 1000,
    updatedAt: started + 1000,
    state: {
      release: 'nanodet-1.4.0',
      manifest: { name: 'nanodet', version: '1.4.0', sha256: 'f'.repeat(64), sequence: 9, expires: Date.now() + 86_400_000 },
      rollbacks: {},
      before: { 'pi-door': null, 'pi-yard': null },
      waveTimeoutMs: 3_600_000,
      waves: [{ devices: ['pi-door'], results: {}, sentAt: Date.now() }, { devices: ['pi-yard'], results: {} }],
      current: 0,
      startedBy: 'carol',
    },
  });

  // A shadow comparison two devices report on: the page sums them and offers to stop it.
  const side = (detections: number, scoreSum: number, latencyMeanMs: number) => ({ detections, scoreSum, latencyMs: { p50: latencyMeanMs, p99: latencyMeanMs * 2 }, latencyMeanMs });
  await hub.stores().records.insertShadow({
    id: 'sh-ui', release: 'nanodet@2.0.0', share: 0.25, until: Date.now() + 3_600_000, createdAt: started + 2000, createdBy: 'carol', targets: ['pi-door', 'pi-yard'],
    manifest: {
      schema: 1, name: 'nanodet', version: '2.0.0', sha256: 'c'.repeat(64), size: 100, url: 'http://hub/a', release: 2,
      metadata: { decoder: 'nanodet', labelCount: 80, inputSize: [416, 416] }, sequence: 11, issuedAt: 1, expires: Date.now() + 7_200_000, keyId: '0123456789abcdef', signature: 'c2ln',
    },
  });
  for (const [deviceId, frames, matched] of [['pi-door', 300, 270], ['pi-yard', 100, 80]] as const) {
    await hub.stores().records.upsertShadowReport({
      shadowId: 'sh-ui', deviceId, at: Date.now(), receivedAt: Date.now(),
      report: {
        schema: 1, deviceId, id: 'sh-ui', status: 'running', candidate: { name: 'nanodet', version: '2.0.0', sha256: 'c'.repeat(64) }, current: null,
        share: 0.25, since: started, at: Date.now(), dropped: 2, cameras: { cam: { frames, matched, agreement: matched / frames, current: side(frames, frames * 0.8, 40), candidate: side(frames, frames * 0.7, 20) } },
      },
    });
  }

  browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run'],
  });
  page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
  page.on('pageerror', (err) => pageErrors.push(err.message));
  // Every failed request is listed; the test expects exactly the two refusals it provokes.
  page.on('response', (r) => {
    if (r.status() >= 400) failedRequests.push(`${r.status()} ${r.request().method()} ${new URL(r.url()).pathname}`);
  });
});

after(async () => {
  await browser?.close();
  await client?.endAsync();
  await hub?.stop();
  await broker?.stop();
  rmSync(work, { recursive: true, force: true });
});

const shot = (name: string) => page.screenshot({ path: join(SHOTS, `${name}.png`) });
const sampleShown = () => page.locator('#sample-id').textContent();
const reviewed = async (id: string) => (await hub.stores().records.getSample('pi-door', id))?.reviewed;

test('review in the browser with the keyboard; the export carries the corrected boxes', { timeout: 120_000 }, async () => {
  // Sign in: a wrong token is refused with a message, the operator token gets in.
  await page.goto(`${hub.url}/`);
  await page.waitForSelector('#token');
  await shot('1-sign-in');
  await page.fill('#token', 'kst_wrong');
  await page.keyboard.press('Enter');
  await page.waitForSelector('.sign-in .error');
  await page.fill('#token', operator);
  await page.keyboard.press('Enter');

  // The queue: most uncertain first, with progress.
  await page.waitForSelector('.card');
  assert.deepEqual(await page.locator('.card').evaluateAll((els) => els.map((e) => e.getAttribute('data-sample'))), ['s-unsure', 's-rare', 's-random']);
  assert.match((await page.locator('#progress').textContent()) ?? '', /0 reviewed \/ 3 queued/);
  await page.waitForFunction(() => [...document.querySelectorAll('.card img')].length === 3);
  await shot('2-queue');

  await page.click('#start');
  await page.waitForSelector('#stage .box');
  assert.equal(await sampleShown(), 's-unsure');
  await page.waitForSelector('.stage img');
  await shot('3-review-pre-labels');

  // Box 1 (person) is selected: move it 60 px right and 30 down, and make it 30 px wider.
  await page.keyboard.press('Shift+ArrowRight');
  await page.keyboard.press('Shift+ArrowRight');
  await page.keyboard.press('Shift+ArrowDown');
  await page.keyboard.press('Alt+Shift+ArrowRight');
  // Tab to the tie and delete it; the dog is selected next: it is a cat.
  await page.keyboard.press('Tab');
  await page.keyboard.press('Delete');
  await page.keyboard.press('c');
  await page.waitForSelector('#class-input');
  await page.keyboard.type('cat');
  await page.keyboard.press('Enter');
  // A new box (in the middle), moved left by 30 px, and named.
  await page.keyboard.press('n');
  await page.keyboard.press('Shift+ArrowLeft');
  await page.keyboard.press('c');
  await page.waitForSelector('#class-input');
  await page.keyboard.type('forklift');
  await page.keyboard.press('Enter');
  assert.equal(await page.locator('#boxes li').count(), 3);
  await shot('4-review-edited');

  await page.keyboard.press('Enter');
  await page.waitForFunction(() => document.querySelector('#sample-id')?.textContent === 's-rare');
  const h = imageHeight * 2;
  const mid = [Math.round(640 * 0.375), Math.round(h * 0.375), Math.round(640 * 0.625), Math.round(h * 0.625)];
  const expected = [
    { label: 'person', box: [160, 90, 390, 430] },
    { label: 'cat', box: [0, 0, 40, 40] },
    { label: 'forklift', box: [mid[0] - 30, mid[1], mid[2] - 30, mid[3]] },
  ];
  assert.deepEqual((await reviewed('s-unsure'))?.labels, expected);
  assert.equal((await reviewed('s-unsure'))?.by, 'alice');

  // s-rare: nothing here. s-random: accept the pre-labels as they are. Then the queue is empty.
  await page.keyboard.press('x');
  await page.waitForFunction(() => document.querySelector('#sample-id')?.textContent === 's-random');
  assert.deepEqual((await reviewed('s-rare'))?.labels, []);
  // The mouse on s-random: drag the person box, undo it; draw a box, resize it by its corner.
  const stage = (await page.locator('#stage').boundingBox())!;
  const h2 = imageHeight * 2;
  const point = (x: number, y: number): [number, number] => [stage.x + (x / 640) * stage.width, stage.y + (y / h2) * stage.height];
  const drag = async (from: [number, number], to: [number, number]) => {
    await page.mouse.move(...from);
    await page.mouse.down();
    await page.mouse.move(...to, { steps: 5 });
    await page.mouse.up();
  };
  const listed = async (i: number) => ((await page.locator('#boxes li').nth(i).locator('.hint').textContent()) ?? '').split('·')[0].split(',').map(Number);
  const near = (got: number[], want: number[]) => assert.ok(got.every((v, k) => Math.abs(v - want[k]) <= 3), `${got} ≈ ${want}`);
  await drag(point(200, 250), point(260, 280));
  near(await listed(0), [180, 110, 360, 450]);
  await page.keyboard.press('z');
  near(await listed(0), [120, 80, 300, 420]);
  await drag(point(400, 100), point(560, 250));
  assert.equal(await page.locator('#boxes li').count(), 2);
  near(await listed(1), [400, 100, 560, 250]);
  await drag(point(560, 250), point(600, 300));
  near(await listed(1), [400, 100, 600, 300]);
  await shot('5-review-mouse');
  // A: the pre-labels as they came, whatever was drawn.
  await page.keyboard.press('a');
  await page.waitForSelector('.queue .empty');
  assert.deepEqual((await reviewed('s-random'))?.labels, [{ label: 'person', box: [120, 80, 300, 420] }]);
  assert.match((await page.locator('#progress').textContent()) ?? '', /3 reviewed \/ 0 queued/);
  await shot('6-queue-done');

  // A stale edit: alice opens s-unsure again, bob saves it meanwhile; alice's save is refused
  // with the reason, and her view offers bob's version.
  await page.goto(`${hub.url}/ui/#/review/pi-door/s-unsure?reviewed=true`);
  await page.waitForSelector('#stage .box');
  const bob = await hub.token('bob', 'operator');
  const at = (await reviewed('s-unsure'))!.at;
  const res = await fetch(`${hub.url}/api/v1/samples/pi-door/s-unsure/review`, { method: 'PUT', headers: { 'content-type': 'application/json', authorization: `Bearer ${bob}` }, body: JSON.stringify({ labels: [], expectedAt: at }) });
  assert.equal(res.status, 200);
  await page.keyboard.press('Delete');
  await page.keyboard.press('Enter');
  await page.waitForSelector('#error');
  assert.match((await page.locator('#error').textContent()) ?? '', /changed since it was loaded \("bob" saved it/);
  await shot('7-review-stale');
  assert.deepEqual((await reviewed('s-unsure'))?.labels, [], 'bob\'s review stands');
  await page.click('#error button');
  await page.waitForFunction(() => document.querySelectorAll('#boxes li.hint').length === 1);

  // The fleet, from the hub's table (retained MQTT status/state).
  await page.goto(`${hub.url}/ui/#/fleet`);
  await page.waitForFunction(() => document.querySelectorAll('#fleet tbody tr').length === 2, undefined, { timeout: 15_000 });
  const fleet = (await page.locator('#fleet').textContent()) ?? '';
  assert.match(fleet, /pi-door.*online.*nanodet 1\.2\.0.*cpu.*door: streaming 4\.8/);
  assert.match(fleet, /pi-yard.*offline.*camera yard failed: connection refused/);
  await shot('8-fleet');

  await page.goto(`${hub.url}/ui/#/rollouts`);
  await page.waitForSelector('.rollout');
  // The running one (newest) has an Abort button; confirmed, the hub stops it at its next step.
  const running = page.locator('#rollout-20250701T130000-def456');
  assert.match((await running.textContent()) ?? '', /nanodet-1\.4\.0.*running/);
  page.once('dialog', (d) => void d.accept());
  await running.locator('button.abort').click();
  await page.waitForFunction(() => /aborted/.test(document.querySelector('#rollout-20250701T130000-def456')?.textContent ?? ''), undefined, { timeout: 15_000 });
  assert.match((await running.textContent()) ?? '', /aborted by /);
  assert.equal(await running.locator('button.abort').count(), 0, 'a finished rollout offers no abort');
  await shot('9-rollouts-abort');
  const rollout = (await page.locator('#rollout-20250701T120000-abc123').textContent()) ?? '';
  assert.match(rollout, /nanodet-1\.3\.0.*aborted/);
  assert.match(rollout, /pi-yard.*failed.*smoke test: no output/);
  assert.match(rollout, /rolled back to nanodet-1\.2\.0/);
  assert.match(rollout, /pi-yard.*nanodet 1\.2\.0 \(offline\)/, 'what each device runs now, from the fleet table');
  await shot('9-rollouts');

  // Shadows: the fleet totals (matched over union: 350 / (400 + 400 − 350)), each device, and Stop.
  await page.goto(`${hub.url}/ui/#/shadows`);
  await page.waitForSelector('#shadow-sh-ui');
  const shadow = page.locator('#shadow-sh-ui');
  const text = (await shadow.textContent()) ?? '';
  assert.match(text, /nanodet@2\.0\.0.*running.*25% of frames/);
  assert.match(text, /2 of 2 devices reporting · 400 frames compared \(4 dropped\) · agreement 0\.778/);
  assert.match(text, /latency ×0\.500/);
  assert.match(text, /pi-door.*running.*300.*0\.818/);
  await shot('10-shadows');
  page.once('dialog', (d) => void d.accept());
  await shadow.locator('button.abort').click();
  await page.waitForFunction(() => /stopped by/.test(document.querySelector('#shadow-sh-ui')?.textContent ?? ''), undefined, { timeout: 15_000 });
  assert.equal(await shadow.locator('button.abort').count(), 0, 'a stopped shadow offers no stop');
  assert.deepEqual(pageErrors, [], 'no script errors on any page');
  assert.deepEqual(failedRequests, ['401 GET /api/v1/devices', '409 PUT /api/v1/samples/pi-door/s-unsure/review'], 'only the wrong token and the stale save were refused');

  // Bob's "nothing here" on s-unsure, alice's on s-rare, and s-random's accepted pre-label:
  // the export (in the JPEG's pixels, half the frame's) carries exactly these.
  await hub.stores().records.replaceReviewed('pi-door', 's-unsure', (await reviewed('s-unsure'))!.at, { labels: expected, by: 'alice', at: Date.now() + 10 });
  const out = join(work, 'coco');
  const exp = await runKestrel(['hub', 'export', '--format', 'coco', '-o', out, '--config', hub.configPath]);
  assert.equal(exp.code, 0, exp.stderr);
  const coco = JSON.parse(readFileSync(join(out, 'annotations.json'), 'utf8'));
  const img = coco.images.find((i: any) => i.kestrel.sampleId === 's-unsure');
  assert.equal(img.kestrel.labels, 'reviewed');
  const names = new Map(coco.categories.map((c: any) => [c.id, c.name]));
  const boxes = coco.annotations.filter((a: any) => a.image_id === img.id).map((a: any) => ({ label: names.get(a.category_id), bbox: a.bbox }));
  assert.deepEqual(
    boxes,
    expected.map((l) => ({ label: l.label, bbox: [l.box[0] / 2, l.box[1] / 2, (l.box[2] - l.box[0]) / 2, (l.box[3] - l.box[1]) / 2] })),
  );
  const rare = coco.images.find((i: any) => i.kestrel.sampleId === 's-rare');
  assert.equal(coco.annotations.filter((a: any) => a.image_id === rare.id).length, 0, '"nothing here" exports no boxes');
});

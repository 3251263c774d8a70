// `kestrel deploy release --gate`: a candidate and the release it would replace are scored on one
// reviewed set a real hub exported (YOLO and COCO); a worse candidate is refused with both models'
// figures, a better one is released with them in its record, and `deploy status` shows them.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runKestrel } from '../support/cli.js';
import { startBroker, type BrokerHandle } from '../support/broker.js';
import { uniquePrefix } from '../support/ports.js';
import { fixedDetector } from '../agent/support/update-kit.js';
import { postSamples, startHub, type HubProcess } from './support/hub-process.js';
import { photoJpeg, samplePayload } from './support/samples.js';
import { boxDetector } from './support/gate-models.js';

let hub: HubProcess;
let operator: string;
let broker: BrokerHandle;
const work = mkdtempSync(join(tmpdir(), 'kestrel-gate-'));
const models = { good: join(work, 'good.onnx'), bad: join(work, 'bad.onnx'), thing: join(work, 'thing.onnx') };
const sets = { yolo: join(work, 'set-yolo'), coco: join(work, 'set-coco'), withCat: join(work, 'set-cat') };
let deployConfig: string;
let prefix: string;

// The reviewed person in each 320×320 astronaut JPEG; the camera frame is twice the JPEG's size.
const PERSON: [number, number, number, number] = [80, 80, 240, 240];

before(async () => {
  [hub, broker] = await Promise.all([startHub(), startBroker()]);
  prefix = uniquePrefix('gate');
  const astronaut = await photoJpeg('astronaut', 320);
  const coffee = await photoJpeg('coffee', 320);
  const token = await hub.token('pi-gate');
  const samples = [
    ...[1, 2, 3].map((n) => samplePayload('pi-gate', astronaut, { id: `door-${n}`, capturedAt: Date.UTC(2025, 4, 1, 0, n), detections: [{ label: 'person', score: 0.4, box: [0, 0, 60, 60] }] })),
    samplePayload('pi-gate', coffee, { id: 'door-4', capturedAt: Date.UTC(2025, 4, 1, 0, 4), detections: [{ label: 'person', score: 0.5, box: [10, 10, 90, 90] }] }),
  ];
  const res = await postSamples(hub.url, token, { samples });
  assert.equal(res.status, 200, JSON.stringify(res.body));
  // People corrected every pre-label: a person where the astronaut is, nothing on the coffee cup.
  const records = hub.stores().records;
  for (const n of [1, 2, 3]) {
    await records.setReviewed('pi-gate', `door-${n}`, { labels: [{ label: 'person', box: PERSON.map((v) => v * 2) as typeof PERSON }], by: 'alice', at: Date.now() });
  }
  await records.setReviewed('pi-gate', 'door-4', { labels: [], by: 'alice', at: Date.now() });
  for (const [format, out, extra] of [['yolo', sets.yolo, []], ['coco', sets.coco, []], ['yolo', sets.withCat, ['--classes', 'person,cat']]] as const) {
    const exported = await runKestrel(['hub', 'export', '--format', format, '-o', out, '--config', hub.configPath, '--device', 'pi-gate', ...extra]);
    assert.equal(exported.code, 0, exported.stderr);
  }
  // The good model's box is the reviewed person; the bad one's sits beside it (IoU 0.24).
  writeFileSync(models.good, boxDetector({ size: 64, box: PERSON, imageSize: [320, 320], version: 'good' }));
  writeFileSync(models.bad, boxDetector({ size: 64, box: [20, 20, 180, 180], imageSize: [320, 320], version: 'bad' }));
  writeFileSync(models.thing, fixedDetector(64, 0.9, 'thing'));
  // The hub's own config: releases go to its blob store, and `deploy status` asks its API (with an operator token).
  deployConfig = hub.configPath;
  operator = await hub.token('gate-operator', 'operator');
});
after(async () => {
  await Promise.all([hub?.stop(), broker?.stop()]);
  rmSync(work, { recursive: true, force: true });
});

const release = (model: string, version: string, ...extra: string[]) =>
  runKestrel(['deploy', 'release', model, '--name', 'person', '--version', version, '--hub-config', deployConfig, ...extra]);

test('a better candidate passes the gate against the newest release of its name, with both models\' figures in its record', { timeout: 120_000 }, async () => {
  const first = await release(models.bad, '1');
  assert.equal(first.code, 0, first.stderr);
  const gated = await release(models.good, '2', '--gate', sets.yolo, '--json');
  assert.equal(gated.code, 0, gated.stderr);
  const record = JSON.parse(gated.stdout);
  assert.equal(record.id, 'person@2');
  const gate = record.gate;
  assert.equal(gate.passed, true);
  assert.equal(gate.metric, 'map50');
  assert.equal(gate.margin, 0.01);
  assert.equal(gate.candidate.map50, 1);
  assert.equal(gate.candidate.recall, 1);
  // Three people found, one box on the empty coffee picture: precision 3/4 at the best F1.
  assert.equal(gate.candidate.precision, 0.75);
  assert.ok(gate.candidate.map50to95 > 0.9, String(gate.candidate.map50to95));
  assert.equal(gate.baseline.id, 'person@1');
  assert.equal(gate.baseline.map50, 0);
  assert.equal(gate.baseline.map50to95, 0);
  assert.deepEqual({ ...gate.set, path: undefined, sha256: undefined }, { path: undefined, sha256: undefined, format: 'yolo', images: 4, boxes: 3, classes: ['person'], labelSources: { reviewed: 4, device: 0 } });
  assert.match(gate.set.sha256, /^[0-9a-f]{64}$/);
});

test('a worse candidate is refused with both models\' mAP, the margin and the set; nothing is released', { timeout: 120_000 }, async () => {
  const refused = await release(models.bad, '3', '--gate', sets.coco);
  assert.equal(refused.code, 1, refused.stderr);
  assert.match(refused.stderr, /release person@3 refused by the gate/);
  assert.match(refused.stderr, /candidate person@3: mAP@0\.5 0\.000 {2}mAP@\.5:\.95 0\.000/);
  assert.match(refused.stderr, /replaces {2}person@2: mAP@0\.5 1\.000 {2}mAP@\.5:\.95 1\.000 {2}P 0\.750 {2}R 1\.000/);
  assert.match(refused.stderr, /mAP@0\.5 -1\.000, margin 0\.01: refused \(more than 0\.01 below person@2\)/);
  assert.match(refused.stderr, /set .*set-coco \(coco, 4 images, 3 boxes, 4 reviewed, sha256 [0-9a-f]{16}\)/);
  const list = await runKestrel(['deploy', 'status', '--hub-config', deployConfig, '--json'], { env: { KESTREL_HUB_TOKEN: operator } });
  assert.equal(list.code, 0, list.stderr);
  assert.deepEqual(JSON.parse(list.stdout).releases.map((r: { id: string }) => r.id), ['person@1', 'person@2']);

  // The same verdict as JSON, for scripts.
  const json = await release(models.bad, '3', '--gate', sets.yolo, '--json');
  assert.equal(json.code, 1);
  const doc = JSON.parse(json.stdout);
  assert.equal(doc.ok, false);
  assert.equal(doc.refused, 'person@3');
  assert.deepEqual([doc.gate.candidate.map50, doc.gate.baseline.map50, doc.gate.passed], [0, 1, false]);
});

test('--against picks the release to beat, --gate-margin how far below it a candidate may fall; the YOLO and COCO exports score alike', { timeout: 120_000 }, async () => {
  const wide = await release(models.bad, '3', '--gate', sets.coco, '--gate-margin', '1');
  assert.equal(wide.code, 0, wide.stderr);
  assert.match(wide.stdout, /mAP@0\.5 -1\.000, margin 1: passed/);
  const against = await release(models.good, '4', '--gate', sets.coco, '--against', 'person@1', '--json');
  assert.equal(against.code, 0, against.stderr);
  const gate = JSON.parse(against.stdout).gate;
  assert.equal(gate.baseline.id, 'person@1');
  assert.equal(gate.set.format, 'coco');
  // COCO boxes are in pixels, YOLO's normalised: the figures agree to rounding.
  const yolo = JSON.parse((await runKestrel(['deploy', 'status', '--hub-config', deployConfig, '--json'], { env: { KESTREL_HUB_TOKEN: operator } })).stdout).releases.find((r: { id: string }) => r.id === 'person@2').gate;
  assert.ok(Math.abs(gate.candidate.map50to95 - yolo.candidate.map50to95) < 0.01, `${gate.candidate.map50to95} vs ${yolo.candidate.map50to95}`);
  assert.equal(gate.candidate.map50, yolo.candidate.map50);
});

test('a trainer dataset gates on its test split; the first release of a name has nothing to beat', { timeout: 120_000 }, async () => {
  const trainerSet = join(work, 'set-trainer');
  const imported = await runKestrel(['dataset', 'import', sets.yolo, '-o', trainerSet]);
  assert.equal(imported.code, 0, imported.stderr);
  const manifestPath = join(trainerSet, 'dataset.json');
  const manifest = JSON.parse(readFileSync(manifestPath, 'utf8'));
  // The trainer held out one person and the empty picture.
  writeFileSync(manifestPath, JSON.stringify({ ...manifest, splits: { train: ['pi-gate__door-2.jpg', 'pi-gate__door-3.jpg'], test: ['pi-gate__door-1.jpg', 'pi-gate__door-4.jpg'] } }));
  const first = await runKestrel(['deploy', 'release', models.good, '--name', 'newcomer', '--version', '1', '--hub-config', deployConfig, '--gate', trainerSet, '--json']);
  assert.equal(first.code, 0, first.stderr);
  const gate = JSON.parse(first.stdout).gate;
  assert.equal(gate.passed, true);
  assert.equal(gate.baseline, undefined);
  assert.deepEqual([gate.set.format, gate.set.images, gate.set.boxes], ['kestrel', 2, 1]);
  assert.deepEqual([gate.candidate.map50, gate.candidate.precision, gate.candidate.recall], [1, 0.5, 1]);
  const text = await runKestrel(['deploy', 'release', models.good, '--name', 'newcomer2', '--version', '1', '--hub-config', deployConfig, '--gate', trainerSet]);
  assert.equal(text.code, 0, text.stderr);
  assert.match(text.stdout, /no earlier release of this name: nothing to beat, passed/);
});

test('deploy status shows each release\'s gate figures', { timeout: 60_000 }, async () => {
  const status = await runKestrel(['deploy', 'status', '--hub-config', deployConfig], { env: { KESTREL_HUB_TOKEN: operator } });
  assert.equal(status.code, 0, status.stderr);
    assert.match(status.stdout, /release person@2 #2 {2}gate passed: mAP@0\.5 1\.000 vs 0\.000 \(person@1\), mAP@\.5:\.95 1\.000, P 0\.750 R 1\.000, margin 0\.01, 4 images sha256 [0-9a-f]{16}/);
  assert.match(status.stdout, /release person@3 #3 {2}gate passed: mAP@0\.5 0\.000 vs 1\.000 \(person@2\),.* margin 1,/);
});

test('bad gate inputs are clear errors before anything is released', { timeout: 120_000 }, async () => {
  const missing = await release(models.good, '9', '--gate', join(work, 'nowhere'));
  assert.equal(missing.code, 2);
  assert.match(missing.stderr, /gate set .*nowhere does not exist; give a `kestrel hub export --format yolo\|coco` folder or a trainer dataset/);

  const empty = join(work, 'empty');
  mkdirSync(join(empty, 'images'), { recursive: true });
  writeFileSync(join(empty, 'data.yaml'), 'names: { 0: person }\n');
  const noImages = await release(models.good, '9', '--gate', empty);
  assert.equal(noImages.code, 2);
  assert.match(noImages.stderr, /gate set .*empty has no images/);

  const unlabelled = join(work, 'unlabelled');
  cpSync(sets.yolo, unlabelled, { recursive: true });
  for (const n of [1, 2, 3]) writeFileSync(join(unlabelled, 'labels', `pi-gate__door-${n}.txt`), '');
  const noObjects = await release(models.good, '9', '--gate', unlabelled);
  assert.equal(noObjects.code, 2);
  assert.match(noObjects.stderr, /has 4 images but no labelled objects: mAP is undefined/);

  const notASet = await release(models.good, '9', '--gate', work);
  assert.equal(notASet.code, 2);
  assert.match(notASet.stderr, /has none of dataset\.json, data\.yaml, annotations\.json/);

  // A set with a class the candidate has no label for, and a candidate of another class.
  const cat = await release(models.good, '9', '--gate', sets.withCat);
  assert.equal(cat.code, 2);
  assert.match(cat.stderr, /candidate person@9 does not know the gate set's class cat \(its labels: person\)/);
  const thing = await release(models.thing, '9', '--gate', sets.yolo);
  assert.equal(thing.code, 2);
  assert.match(thing.stderr, /candidate person@9 does not know the gate set's class person \(its labels: thing\)/);

  const usage = await release(models.good, '9', '--against', 'person@1');
  assert.equal(usage.code, 2);
  assert.match(usage.stderr, /--against names the release a --gate compares with/);
  const margin = await release(models.good, '9', '--gate', sets.yolo, '--gate-margin', 'lots');
  assert.equal(margin.code, 2);
  assert.match(margin.stderr, /--gate-margin must be a number from 0 to 1/);
  const unknown = await release(models.good, '9', '--gate', sets.yolo, '--against', 'person@7');
  assert.equal(unknown.code, 2);
  assert.match(unknown.stderr, /--against person@7: no such release \(releases: person@1, person@2, person@3, person@4, newcomer@1, newcomer2@1\)/);

  const status = JSON.parse((await runKestrel(['deploy', 'status', '--hub-config', deployConfig, '--json'], { env: { KESTREL_HUB_TOKEN: operator } })).stdout);
  assert.ok(!status.releases.some((r: { id: string }) => r.id === 'person@9'), 'nothing was released');
});

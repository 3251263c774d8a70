// Interop with labelling tools: `kestrel hub export --format labelstudio` writes a Label Studio
// import file with pre-annotations, and `kestrel hub import` writes reviewed labels back by sample
// id from COCO JSON (an edited export) and from Label Studio's JSON export; a bad file changes nothing.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runKestrel } from '../support/cli.js';
import { postSamples, startHub, type HubProcess } from './support/hub-process.js';
import { photoJpeg, samplePayload } from './support/samples.js';

let hub: HubProcess;
const work = mkdtempSync(join(tmpdir(), 'kestrel-import-'));
const t0 = Date.UTC(2025, 6, 1);

before(async () => {
  hub = await startHub();
  // JPEG 320 wide, frame 640: the files' image pixels are half the hub's frame pixels.
  const image = await photoJpeg('astronaut', 320);
  const token = await hub.token('pi-imp');
  const res = await postSamples(hub.url, token, {
    samples: [
      samplePayload('pi-imp', image, { id: 's1', capturedAt: t0, detections: [{ label: 'person', score: 0.6, box: [100, 60, 300, 400] }, { label: 'tie', score: 0.5, box: [280, 300, 330, 420] }] }),
      samplePayload('pi-imp', image, { id: 's2', capturedAt: t0 + 1, detections: [{ label: 'person', score: 0.4, box: [20, 20, 120, 220] }] }),
      samplePayload('pi-imp', image, { id: 's3', capturedAt: t0 + 2, detections: [{ label: 'dog', score: 0.7, box: [0, 0, 80, 80] }] }),
    ],
  });
  assert.equal(res.status, 200, JSON.stringify(res.body));
});
after(async () => {
  await hub?.stop();
  rmSync(work, { recursive: true, force: true });
});

const kestrel = (...args: string[]) => runKestrel([...args, '--config', hub.configPath]);
const reviewed = async (id: string) => (await hub.stores().records.getSample('pi-imp', id))?.reviewed;

test('COCO: an edited export comes back as reviewed labels in frame pixels; a bad file changes nothing', { timeout: 120_000 }, async () => {
  const out = join(work, 'coco');
  const exp = await kestrel('hub', 'export', '--format', 'coco', '-o', out, '--device', 'pi-imp', '--min-score', '0');
  assert.equal(exp.code, 0, exp.stderr);
  const file = join(out, 'annotations.json');
  const doc = JSON.parse(readFileSync(file, 'utf8'));
  const imageOf = (id: string) => doc.images.find((i: any) => i.kestrel.sampleId === id);
  const cat = (name: string) => doc.categories.find((c: any) => c.name === name).id;
  // A person in a labelling tool: s1 keeps the person (moved) and loses the tie; s2 becomes a
  // dog; s3 has nothing in it.
  const s1 = imageOf('s1').id;
  const s2 = imageOf('s2').id;
  const s3 = imageOf('s3').id;
  doc.annotations = [
    { id: 1, image_id: s1, category_id: cat('person'), bbox: [60, 40, 100, 160], area: 16000, iscrowd: 0, score: 0.6 },
    { id: 2, image_id: s2, category_id: cat('dog'), bbox: [10, 10, 50, 100], area: 5000, iscrowd: 0 },
  ];

  // First a broken copy: an unknown sample and a box past the image. Nothing may change.
  const broken = structuredClone(doc);
  broken.images.push({ id: 99, file_name: 'pi-imp__nope.jpg', width: 320, height: imageOf('s1').height, kestrel: { deviceId: 'pi-imp', sampleId: 'nope' } });
  broken.annotations.push({ id: 3, image_id: s3, category_id: cat('dog'), bbox: [300, 10, 50, 10], area: 500, iscrowd: 0 });
  writeFileSync(join(work, 'broken.json'), JSON.stringify(broken));
  const bad = await kestrel('hub', 'import', '--format', 'coco', join(work, 'broken.json'));
  assert.notEqual(bad.code, 0);
  assert.match(bad.stderr, /nothing imported: 2 problems/);
  assert.match(bad.stderr, /no sample "nope" of device "pi-imp"/);
  assert.match(bad.stderr, /outside the 640×\d+ frame/);
  for (const id of ['s1', 's2', 's3']) assert.equal(await reviewed(id), undefined, `${id} untouched`);

  writeFileSync(file, JSON.stringify(doc));
  const ok = await kestrel('hub', 'import', '--format', 'coco', file, '--by', 'carol', '--json');
  assert.equal(ok.code, 0, ok.stderr);
  assert.deepEqual(JSON.parse(ok.stdout), { format: 'coco', saved: 3, boxes: 2, empty: 1, unlabelled: 0, conflicts: [] });
  assert.deepEqual((await reviewed('s1'))?.labels, [{ label: 'person', box: [120, 80, 320, 400] }]);
  assert.equal((await reviewed('s1'))?.by, 'carol');
  assert.deepEqual((await reviewed('s2'))?.labels, [{ label: 'dog', box: [20, 20, 120, 220] }]);
  assert.deepEqual((await reviewed('s3'))?.labels, []);
});

test('Label Studio: the import file has tasks with pre-annotations, and its JSON export comes back by sample id', { timeout: 120_000 }, async () => {
  // Start over from unreviewed samples, so the tasks carry predictions.
  for (const id of ['s1', 's2', 's3']) await hub.stores().records.setReviewed('pi-imp', id, null);
  const out = join(work, 'ls');
  const exp = await kestrel('hub', 'export', '--format', 'labelstudio', '-o', out, '--device', 'pi-imp', '--min-score', '0', '--image-url', 'https://files.example/kestrel/');
  assert.equal(exp.code, 0, exp.stderr);
  const tasks = JSON.parse(readFileSync(join(out, 'labelstudio-tasks.json'), 'utf8'));
  assert.equal(tasks.length, 3);
  const t1 = tasks.find((t: any) => t.data.kestrel_sample_id === 's1');
  assert.equal(t1.data.image, 'https://files.example/kestrel/pi-imp__s1.jpg');
  assert.equal(t1.data.kestrel_device_id, 'pi-imp');
  const person = t1.predictions[0].result.find((r: any) => r.value.rectanglelabels[0] === 'person');
  const [w, h] = [320, person.original_height];
  // person [100, 60, 300, 400] in frame pixels = [50, 30, 150, 200] in the JPEG's.
  assert.equal(person.type, 'rectanglelabels');
  assert.equal(person.from_name, 'label');
  assert.equal(person.to_name, 'image');
  assert.equal(person.original_width, w);
  assert.ok(Math.abs(person.value.x - (50 / w) * 100) < 1e-3 && Math.abs(person.value.height - (170 / h) * 100) < 1e-3, JSON.stringify(person.value));
  assert.equal(person.score, 0.6);
  const config = readFileSync(join(out, 'labelstudio-config.xml'), 'utf8');
  assert.match(config, /<RectangleLabels name="label" toName="image">/);
  assert.match(config, /<Label value="person"\/>/);

  // What Label Studio's "Export → JSON" gives after a person worked on the tasks: ids and
  // annotations added, data as imported. s1: the person accepted, the tie deleted, a second
  // (older) annotation that lost; s2: cancelled (skipped), s3: not annotated.
  const exported = tasks.map((t: any, i: number) => ({ id: 100 + i, data: t.data, annotations: [] as unknown[], predictions: [], project: 7 }));
  const e1 = exported.find((t: any) => t.data.kestrel_sample_id === 's1');
  const e2 = exported.find((t: any) => t.data.kestrel_sample_id === 's2');
  e1.annotations = [
    { id: 11, completed_by: 1, was_cancelled: false, ground_truth: false, created_at: '2025-07-02T10:00:00Z', updated_at: '2025-07-02T10:00:00Z', result: [] },
    { id: 12, completed_by: 1, was_cancelled: false, ground_truth: false, created_at: '2025-07-02T11:00:00Z', updated_at: '2025-07-02T11:05:00Z', result: [{ ...person, id: 'xyz', origin: 'prediction', score: undefined }] },
  ];
  e2.annotations = [{ id: 13, completed_by: 1, was_cancelled: true, result: [], created_at: '2025-07-02T12:00:00Z', updated_at: '2025-07-02T12:00:00Z' }];
  const file = join(work, 'project-7-at-2025-07-02.json');
  writeFileSync(file, JSON.stringify(exported));
  const ok = await kestrel('hub', 'import', '--format', 'labelstudio', file, '--json');
  assert.equal(ok.code, 0, ok.stderr);
  assert.deepEqual(JSON.parse(ok.stdout), { format: 'labelstudio', saved: 1, boxes: 1, empty: 0, unlabelled: 2, conflicts: [] });
  const r1 = await reviewed('s1');
  assert.equal(r1?.by, 'import:project-7-at-2025-07-02.json');
  assert.equal(r1?.labels.length, 1);
  assert.equal(r1?.labels[0].label, 'person');
  r1?.labels[0].box.forEach((v, k) => assert.ok(Math.abs(v - [100, 60, 300, 400][k]) < 0.05, `box ${r1.labels[0].box} ≈ the pre-label`));
  assert.equal(await reviewed('s2'), undefined);
  assert.equal(await reviewed('s3'), undefined);

  // A rotated box cannot be a reviewed label: refused, nothing changed.
  e1.annotations[1].result[0] = { ...e1.annotations[1].result[0], value: { ...person.value, rotation: 15 } };
  e1.annotations[1].updated_at = '2025-07-03T00:00:00Z';
  writeFileSync(file, JSON.stringify(exported));
  const rotated = await kestrel('hub', 'import', '--format', 'labelstudio', file);
  assert.notEqual(rotated.code, 0);
  assert.match(rotated.stderr, /rotated by 15°/);
  assert.equal((await reviewed('s1'))?.at, r1?.at);
});

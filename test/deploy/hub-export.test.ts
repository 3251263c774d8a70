// `kestrel hub export`: samples become a YOLO or COCO dataset that the trainer's own loaders
// read, with the devices' detections as pre-labels and reviewed labels taking precedence.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { loadDataset } from '@kestrel/trainer/data/dataset';
import { importDataset } from '@kestrel/trainer/data/import';
import { runKestrel } from '../support/cli.js';
import { postSamples, startHub, type HubProcess } from './support/hub-process.js';
import { photoJpeg, samplePayload } from './support/samples.js';

let hub: HubProcess;
const work = mkdtempSync(join(tmpdir(), 'kestrel-export-'));
let image: Awaited<ReturnType<typeof photoJpeg>>;
const t0 = Date.UTC(2025, 4, 1);
// The camera is twice the JPEG's size: boxes halve on the way from source pixels to the image.
let preLabelled: ReturnType<typeof samplePayload>;
let reviewed: ReturnType<typeof samplePayload>;
let empty: ReturnType<typeof samplePayload>;

before(async () => {
  hub = await startHub();
  image = await photoJpeg('astronaut', 320);
  const token = await hub.token('pi-exp');
  preLabelled = samplePayload('pi-exp', image, {
    id: 'door-1',
    capturedAt: t0,
    detections: [
      { label: 'person', score: 0.82, box: [100, 60, 300, 400] },
      { label: 'dog', score: 0.2, box: [0, 0, 40, 40] },
      { label: 'tie', score: 0.5, box: [280, 300, 330, 420] },
    ],
  });
  reviewed = samplePayload('pi-exp', image, { id: 'door-2', capturedAt: t0 + 1000, detections: [{ label: 'person', score: 0.4, box: [10, 10, 50, 50] }] });
  empty = samplePayload('pi-exp', image, { id: 'yard-3', camera: 'yard', capturedAt: t0 + 2000, reasons: ['random'], detections: [] });
  const res = await postSamples(hub.url, token, { samples: [preLabelled, reviewed, empty] });
  assert.equal(res.status, 200, JSON.stringify(res.body));
  // What a labelling UI will do: a person says door-2 shows a cat, not a person.
  await hub.stores().records.setReviewed('pi-exp', 'door-2', { labels: [{ label: 'cat', box: [200, 100, 600, 500] }], by: 'alice', at: t0 + 5000 });
});
after(async () => {
  await hub?.stop();
  rmSync(work, { recursive: true, force: true });
});

async function exportTo(format: string, name: string, ...extra: string[]) {
  const out = join(work, name);
  const res = await runKestrel(['hub', 'export', '--format', format, '-o', out, '--config', hub.configPath, '--device', 'pi-exp', ...extra]);
  return { out, ...res };
}

test('YOLO export: images, normalised labels and data.yaml that the trainer loads as they are', { timeout: 90_000 }, async () => {
  const { out, code, stdout, stderr } = await exportTo('yolo', 'yolo', '--json');
  assert.equal(code, 0, stderr);
  const report = JSON.parse(stdout);
  assert.equal(report.images, 3);
  assert.deepEqual(report.classes, ['cat', 'person', 'tie']);
  assert.deepEqual(report.labelSources, { reviewed: 1, device: 2 });
  assert.deepEqual(report.skipped, { 'pre-label below --min-score': 1 });

  assert.deepEqual(readdirSync(join(out, 'images')).sort(), ['pi-exp__door-1.jpg', 'pi-exp__door-2.jpg', 'pi-exp__yard-3.jpg']);
  assert.deepEqual(readFileSync(join(out, 'images', 'pi-exp__door-1.jpg')), image.jpeg);
  const yaml = parse(readFileSync(join(out, 'data.yaml'), 'utf8'));
  assert.deepEqual(yaml.names, { 0: 'cat', 1: 'person', 2: 'tie' });
  // person [100, 60, 300, 400] in a 640-wide source → [50, 30, 150, 200] in the 320-wide JPEG.
  const [w, h] = [image.width, image.height];
  const lines = readFileSync(join(out, 'labels', 'pi-exp__door-1.txt'), 'utf8').trim().split('\n').map((l) => l.split(' ').map(Number));
  assert.equal(lines.length, 2, 'the dog at 0.2 is below --min-score 0.35');
  const [cls, cx, cy, bw, bh] = lines[0];
  assert.equal(cls, 1);
  assert.ok(Math.abs(cx - 100 / w) < 1e-6 && Math.abs(cy - 115 / h) < 1e-6 && Math.abs(bw - 100 / w) < 1e-6 && Math.abs(bh - 170 / h) < 1e-6, lines[0].join(' '));
  assert.equal(readFileSync(join(out, 'labels', 'pi-exp__yard-3.txt'), 'utf8'), '', 'no objects: an empty label file (background)');

  const dataset = loadDataset(out);
  assert.deepEqual(dataset.classes, ['cat', 'person', 'tie']);
  assert.equal(dataset.items.length, 3);
  const door2 = dataset.items.find((i) => i.id === 'pi-exp__door-2.jpg')!;
  assert.deepEqual(door2.boxes.map((b) => b.classId), [0], 'reviewed labels win: a cat, not the pre-labelled person');
  const [x1, y1, x2, y2] = door2.boxes[0].box;
  assert.ok(Math.abs(x1 - 100 / w) < 1e-5 && Math.abs(y1 - 50 / h) < 1e-5 && Math.abs(x2 - 300 / w) < 1e-5 && Math.abs(y2 - 250 / h) < 1e-5, door2.boxes[0].box.join(' '));
  const manifest = JSON.parse(readFileSync(join(out, 'kestrel-export.json'), 'utf8'));
  assert.deepEqual(manifest.items.map((i: { sampleId: string; labels: string }) => [i.sampleId, i.labels]), [['door-1', 'device'], ['door-2', 'reviewed'], ['yard-3', 'device']]);
});

test('COCO export: annotations.json in pixels with categories from 1, which the trainer imports', { timeout: 90_000 }, async () => {
  const { out, code, stderr } = await exportTo('coco', 'coco', '--min-score', '0.1', '--classes', 'person,cat');
  assert.equal(code, 0, stderr);
  const doc = JSON.parse(readFileSync(join(out, 'annotations.json'), 'utf8'));
  assert.deepEqual(doc.categories.map((c: { id: number; name: string }) => [c.id, c.name]), [[1, 'person'], [2, 'cat']]);
  assert.equal(doc.images.length, 3);
  assert.deepEqual([doc.images[0].width, doc.images[0].height], [image.width, image.height]);
  const door1 = doc.images.find((i: { file_name: string }) => i.file_name === 'pi-exp__door-1.jpg');
  const anns = doc.annotations.filter((a: { image_id: number }) => a.image_id === door1.id);
  // dog (0.2) passes --min-score 0.1 but is not in --classes; tie neither.
  assert.deepEqual(anns.map((a: { category_id: number; bbox: number[]; score: number }) => [a.category_id, a.bbox, a.score]), [[1, [50, 30, 100, 170], 0.82]]);

  const imported = await importDataset(join(out, 'annotations.json'), join(work, 'coco-imported'), { format: 'coco' });
  assert.equal(imported.images, 3);
  assert.equal(imported.boxes, 2, 'person on door-1, the reviewed cat on door-2');
  assert.deepEqual(imported.classes, ['person', 'cat']);
});

test('filters select what is exported, and an export never writes into a folder that holds files', { timeout: 90_000 }, async () => {
  const yard = await exportTo('yolo', 'yard-only', '--camera', 'yard', '--json');
  assert.equal(yard.code, 0, yard.stderr);
  assert.equal(JSON.parse(yard.stdout).images, 1);
  const byLabel = await exportTo('yolo', 'cats', '--label', 'cat', '--json');
  assert.equal(JSON.parse(byLabel.stdout).images, 1, 'label filters see reviewed labels');
  const again = await exportTo('yolo', 'yard-only');
  assert.equal(again.code, 2);
  assert.match(again.stderr, /yard-only is not empty; export into a new or empty folder/);
  const badFormat = await exportTo('voc', 'voc');
  assert.equal(badFormat.code, 2);
  assert.match(badFormat.stderr, /--format must be yolo, coco or labelstudio, got "voc"/);
  const badTime = await exportTo('yolo', 'x', '--since', 'last week');
  assert.match(badTime.stderr, /--since: "last week" is neither epoch milliseconds nor an ISO date/);
});

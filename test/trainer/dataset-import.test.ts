// Importing YOLO/Ultralytics folders and COCO JSON into Kestrel's format, and the errors a
// person gets for broken inputs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { importDataset } from '@kestrel/trainer/data/import';
import { loadDataset } from '@kestrel/trainer/data/dataset';
import { isKestrelError } from '@kestrel/core/util/errors';
import { tempDir } from './support/tmp.js';

async function writeImage(path: string, w: number, h: number, grey = 90): Promise<void> {
  mkdirSync(join(path, '..'), { recursive: true });
  await sharp({ create: { width: w, height: h, channels: 3, background: { r: grey, g: grey, b: grey } } }).jpeg().toFile(path);
}

test('an Ultralytics folder (data.yaml, images/train|val, labels/...) imports with its splits', async () => {
  const src = tempDir();
  await writeImage(join(src, 'images/train/a.jpg'), 64, 48);
  await writeImage(join(src, 'images/train/b.jpg'), 64, 48, 100);
  await writeImage(join(src, 'images/val/c.jpg'), 64, 48, 110);
  mkdirSync(join(src, 'labels/train'), { recursive: true });
  mkdirSync(join(src, 'labels/val'), { recursive: true });
  writeFileSync(join(src, 'labels/train/a.txt'), '0 0.5 0.5 0.25 0.5\n1 0.2 0.2 0.1 0.1\n');
  writeFileSync(join(src, 'labels/val/c.txt'), '1 0.5 0.5 0.5 0.5\n');
  writeFileSync(join(src, 'data.yaml'), 'path: .\ntrain: images/train\nval: images/val\nnames:\n  0: bolt\n  1: nut\n');
  const dest = join(tempDir(), 'ds');
  const report = await importDataset(src, dest);
  assert.deepEqual({ images: report.images, boxes: report.boxes, classes: report.classes, format: report.format }, { images: 3, boxes: 3, classes: ['bolt', 'nut'], format: 'yolo' });
  const ds = loadDataset(dest);
  assert.deepEqual(ds.splits.train, ['train/a.jpg', 'train/b.jpg']);
  assert.deepEqual(ds.splits.val, ['val/c.jpg']);
  const a = ds.items.find((i) => i.id === 'train/a.jpg')!;
  assert.deepEqual(a.boxes.map((b) => b.classId), [0, 1]);
  assert.deepEqual(a.boxes[0].box.map((v) => Math.round(v * 1000) / 1000), [0.375, 0.25, 0.625, 0.75]);
  assert.deepEqual(ds.items.find((i) => i.id === 'train/b.jpg')!.boxes, [], 'an image without a label file is background');
  // As `yolo train data=data.yaml`: the yaml itself names the dataset, under any file name.
  writeFileSync(join(src, 'parts.yaml'), readFileSync(join(src, 'data.yaml')));
  const direct = loadDataset(join(src, 'parts.yaml'));
  assert.deepEqual([direct.classes, direct.splits.train, direct.splits.val], [['bolt', 'nut'], ['train/a.jpg', 'train/b.jpg'], ['val/c.jpg']]);
  assert.deepEqual(loadDataset(join(dest, 'dataset.json')).splits, ds.splits, 'a dataset.json names its folder');
  assert.throws(() => loadDataset(join(src, 'labels/train/a.txt')), /a\.txt is a file but neither a data\.yaml nor dataset\.json/);
  assert.throws(() => loadDataset(join(src, 'gone.yaml')), /dataset file .*gone\.yaml does not exist/);
});

test('COCO JSON imports: pixel boxes become normalised YOLO labels, crowd regions are skipped', async () => {
  const src = tempDir();
  await writeImage(join(src, 'images/x.jpg'), 200, 100);
  await writeImage(join(src, 'images/y.jpg'), 100, 100);
  const coco = {
    images: [{ id: 1, file_name: 'x.jpg', width: 200, height: 100 }, { id: 2, file_name: 'y.jpg', width: 100, height: 100 }],
    categories: [{ id: 3, name: 'car' }, { id: 1, name: 'person' }],
    annotations: [
      { image_id: 1, category_id: 1, bbox: [20, 10, 40, 50] },
      { image_id: 1, category_id: 3, bbox: [100, 0, 100, 100] },
      { image_id: 2, category_id: 3, bbox: [0, 0, 10, 10], iscrowd: 1 },
    ],
  };
  writeFileSync(join(src, 'instances_train.json'), JSON.stringify(coco));
  const dest = join(tempDir(), 'ds');
  const report = await importDataset(join(src, 'instances_train.json'), dest);
  assert.deepEqual(report.classes, ['person', 'car'], 'classes ordered by COCO category id');
  assert.deepEqual(report.skipped, { 'crowd region (iscrowd=1)': 1 });
  assert.equal(readFileSync(join(dest, 'labels/x.txt'), 'utf8'), '0 0.2 0.35 0.2 0.5\n1 0.75 0.5 0.5 1\n');
  const ds = loadDataset(dest);
  assert.deepEqual(ds.splits.train, ['x.jpg', 'y.jpg'], 'a file named *train* fills the train split');
});

test('a bare YOLO folder (images/, labels/, classes.txt) imports without splits', async () => {
  const src = tempDir();
  await writeImage(join(src, 'images/one.png'.replace('.png', '.jpg')), 40, 40);
  mkdirSync(join(src, 'labels'), { recursive: true });
  writeFileSync(join(src, 'labels/one.txt'), '1 0.5 0.5 0.5 0.5\n');
  writeFileSync(join(src, 'classes.txt'), 'scratch\ndent\n');
  const dest = join(tempDir(), 'ds');
  const report = await importDataset(src, dest);
  assert.deepEqual(report.classes, ['scratch', 'dent']);
  const ds = loadDataset(dest);
  assert.deepEqual(ds.items.map((i) => [i.id, i.boxes.map((b) => b.classId)]), [['one.jpg', [1]]]);
  assert.deepEqual(ds.splits, { train: [], val: [], test: [] });
});

test('a broken label file stops loading with its path and line number', async () => {
  const src = tempDir();
  await writeImage(join(src, 'images/a.jpg'), 32, 32);
  mkdirSync(join(src, 'labels'), { recursive: true });
  writeFileSync(join(src, 'labels/a.txt'), '0 0.5 0.5 0.2 0.2\n0 0.5 0.5 0.2\n');
  writeFileSync(join(src, 'dataset.json'), JSON.stringify({ schema: 1, name: 't', classes: ['thing'] }));
  assert.throws(() => loadDataset(src), (err: unknown) => isKestrelError(err) && err.message.includes(`${join(src, 'labels/a.txt')}:2: expected 5 fields`));
});

test('COCO annotations with an unknown category name the annotation', async () => {
  const src = tempDir();
  await writeImage(join(src, 'a.jpg'), 32, 32);
  writeFileSync(join(src, 'coco.json'), JSON.stringify({ images: [{ id: 1, file_name: 'a.jpg' }], categories: [{ id: 1, name: 'a' }], annotations: [{ image_id: 1, category_id: 9, bbox: [0, 0, 5, 5] }] }));
  await assert.rejects(importDataset(join(src, 'coco.json'), join(tempDir(), 'd')), /annotations\[0\] has category_id 9/);
});

test('a folder that is not a dataset says what it lacks', () => {
  assert.throws(() => loadDataset(tempDir()), /has neither dataset\.json nor data\.yaml/);
});

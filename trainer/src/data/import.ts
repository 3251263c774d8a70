// Bringing datasets into Kestrel's format (images/ + labels/ YOLO txt + dataset.json): from
// YOLO/Ultralytics folders and from COCO JSON. The hub's export is a YOLO folder, so it comes in
// through the same door.
import { copyFileSync, existsSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import { writeFileSync } from 'node:fs';
import { basename, dirname, extname, join, resolve } from 'node:path';
import { KestrelError } from '@kestrel/core/util/errors';
import { loadDataset, emptySplits, writeManifest, MANIFEST_FILE } from './dataset.js';
import { listImages, labelPathForImage } from './files.js';
import { formatYoloLabels, parseYoloLabels } from './yolo-labels.js';
import { imageSize } from './image.js';
import { SPLITS, type Dataset, type LabelBox, type SplitName } from './types.js';

export type ImportFormat = 'yolo' | 'coco';

export interface ImportOptions {
  format?: ImportFormat;
  /** COCO: folder the JSON's file_name entries are relative to (default: next to the JSON, or its images/). */
  images?: string;
  name?: string;
}

export interface ImportReport {
  dest: string;
  format: ImportFormat;
  images: number;
  boxes: number;
  classes: string[];
  /** Annotations left out and why (COCO crowd regions, unknown images). */
  skipped: Record<string, number>;
}

/** Imports one or more sources into `dest`. COCO sources named *train*, *val*, *test* set the splits. */
export async function importDataset(sources: string | string[], dest: string, options: ImportOptions = {}): Promise<ImportReport> {
  const list = [sources].flat().map((s) => resolve(s));
  for (const s of list) if (!existsSync(s)) throw new KestrelError('E_DATASET_MISSING', `import source ${s} does not exist`);
  const format = options.format ?? (list.every((s) => s.endsWith('.json') && statSync(s).isFile()) ? 'coco' : 'yolo');
  const out = resolve(dest);
  if (existsSync(join(out, MANIFEST_FILE))) throw new KestrelError('E_DATASET_EXISTS', `${out} already holds a dataset; choose an empty folder`);
  mkdirSync(join(out, 'images'), { recursive: true });
  mkdirSync(join(out, 'labels'), { recursive: true });
  return format === 'coco' ? importCoco(list, out, options) : importYolo(list, out, options);
}

async function importYolo(sources: string[], out: string, options: ImportOptions): Promise<ImportReport> {
  if (sources.length !== 1) throw new KestrelError('E_DATASET_IMPORT', 'YOLO import takes one folder');
  const ds = loadYoloFolder(sources[0]);
  let boxes = 0;
  for (const item of ds.items) {
    const image = join(out, 'images', item.id);
    mkdirSync(dirname(image), { recursive: true });
    copyFileSync(item.imagePath, image);
    const label = join(out, 'labels', item.id.replace(/\.[^./]+$/, '.txt'));
    mkdirSync(dirname(label), { recursive: true });
    writeFileSync(label, formatYoloLabels(item.boxes));
    boxes += item.boxes.length;
  }
  writeManifest(out, { schema: 1, name: options.name ?? ds.name, classes: ds.classes, splits: ds.splits, source: { format: 'yolo', path: sources[0] } });
  return { dest: out, format: 'yolo', images: ds.items.length, boxes, classes: ds.classes, skipped: {} };
}

/** A YOLO folder with dataset.json or data.yaml, or a bare images/ + labels/ + classes.txt. */
function loadYoloFolder(src: string): Dataset {
  const classesTxt = join(src, 'classes.txt');
  const described = ['dataset.json', 'data.yaml', 'data.yml', 'dataset.yaml'].some((f) => existsSync(join(src, f)));
  if (described || !existsSync(classesTxt)) return loadDataset(src);
  const classes = readFileSync(classesTxt, 'utf8').split(/\r?\n/).map((l) => l.trim()).filter(Boolean);
  const imagesDir = existsSync(join(src, 'images')) ? join(src, 'images') : src;
  const items = listImages(imagesDir).map((id) => {
    const imagePath = join(imagesDir, id);
    const labelPath = labelPathForImage(imagePath);
    const fallback = imagePath.slice(0, imagePath.length - extname(imagePath).length) + '.txt';
    const path = existsSync(labelPath) ? labelPath : fallback;
    return { id, imagePath, labelPath: path, boxes: existsSync(path) ? parseYoloLabels(readFileSync(path, 'utf8'), path, classes.length) : [] };
  });
  return { root: src, name: basename(src), classes, items, splits: emptySplits() };
}

interface CocoJson {
  images?: Array<{ id: number | string; file_name: string; width?: number; height?: number }>;
  annotations?: Array<{ image_id: number | string; category_id: number; bbox: [number, number, number, number]; iscrowd?: number }>;
  categories?: Array<{ id: number; name: string }>;
}

async function importCoco(sources: string[], out: string, options: ImportOptions): Promise<ImportReport> {
  const docs = sources.map((path) => ({ path, doc: readCoco(path) }));
  // One class list for all files: the union of categories, ordered by COCO id.
  const categories = new Map<number, string>();
  for (const { doc } of docs) for (const c of doc.categories ?? []) categories.set(c.id, c.name);
  if (categories.size === 0) throw new KestrelError('E_DATASET_FORMAT', `${sources.join(', ')}: no "categories"`);
  const catIds = [...categories.keys()].sort((a, b) => a - b);
  const classOf = new Map(catIds.map((id, i) => [id, i]));
  const classes = catIds.map((id) => categories.get(id)!);
  const splits = emptySplits();
  const skipped: Record<string, number> = {};
  const skip = (why: string): void => {
    skipped[why] = (skipped[why] ?? 0) + 1;
  };
  let images = 0, boxes = 0;
  for (const { path, doc } of docs) {
    const split = SPLITS.find((s) => basename(path).toLowerCase().includes(s)) as SplitName | undefined;
    const imagesDir = options.images ?? (existsSync(join(dirname(path), 'images')) ? join(dirname(path), 'images') : dirname(path));
    const anns = new Map<string, LabelBox[]>();
    const byId = new Map((doc.images ?? []).map((im) => [String(im.id), im]));
    for (const [i, a] of (doc.annotations ?? []).entries()) {
      const im = byId.get(String(a.image_id));
      if (!im) {
        skip('annotation for an unknown image_id');
        continue;
      }
      if (a.iscrowd) {
        skip('crowd region (iscrowd=1)');
        continue;
      }
      const cls = classOf.get(a.category_id);
      if (cls === undefined) throw new KestrelError('E_DATASET_FORMAT', `${path}: annotations[${i}] has category_id ${a.category_id}, which is not in "categories"`);
      if (!Array.isArray(a.bbox) || a.bbox.length !== 4 || a.bbox.some((v) => !Number.isFinite(v))) {
        throw new KestrelError('E_DATASET_FORMAT', `${path}: annotations[${i}].bbox must be [x, y, width, height] numbers`);
      }
      const list = anns.get(String(a.image_id)) ?? [];
      list.push({ classId: cls, box: [a.bbox[0], a.bbox[1], a.bbox[0] + a.bbox[2], a.bbox[1] + a.bbox[3]] });
      anns.set(String(a.image_id), list);
    }
    for (const im of doc.images ?? []) {
      const src = join(imagesDir, im.file_name);
      if (!existsSync(src)) throw new KestrelError('E_DATASET_MISSING', `${path}: image ${im.file_name} not found in ${imagesDir} (give the folder with --images)`);
      const { width, height } = im.width && im.height ? { width: im.width, height: im.height } : await imageSize(src);
      const id = im.file_name.split(/[\\/]/).join('/');
      const dst = join(out, 'images', id);
      mkdirSync(dirname(dst), { recursive: true });
      copyFileSync(src, dst);
      const labels = (anns.get(String(im.id)) ?? [])
        .filter((l) => l.box[2] > l.box[0] && l.box[3] > l.box[1])
        .map((l) => ({ classId: l.classId, box: [l.box[0] / width, l.box[1] / height, l.box[2] / width, l.box[3] / height] as LabelBox['box'] }));
      const labelPath = join(out, 'labels', id.replace(/\.[^./]+$/, '.txt'));
      mkdirSync(dirname(labelPath), { recursive: true });
      writeFileSync(labelPath, formatYoloLabels(labels));
      if (split) splits[split].push(id);
      images++;
      boxes += labels.length;
    }
  }
  writeManifest(out, { schema: 1, name: options.name ?? basename(out), classes, splits, source: { format: 'coco', paths: sources } });
  return { dest: out, format: 'coco', images, boxes, classes, skipped };
}

function readCoco(path: string): CocoJson {
  let doc: CocoJson;
  try {
    doc = JSON.parse(readFileSync(path, 'utf8')) as CocoJson;
  } catch (err) {
    throw new KestrelError('E_DATASET_FORMAT', `${path} is not valid JSON: ${(err as Error).message}`);
  }
  if (!Array.isArray(doc.images) || !Array.isArray(doc.annotations)) {
    throw new KestrelError('E_DATASET_FORMAT', `${path} is not COCO detection JSON (needs "images", "annotations" and "categories" arrays)`);
  }
  return doc;
}

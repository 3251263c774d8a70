// Reading a gate set: a folder `kestrel hub export` wrote (YOLO: data.yaml + images/ + labels/;
// COCO: annotations.json + images/) or the trainer's dataset folder (dataset.json + YOLO labels,
// its test split when it names one). The deploy package may not import the trainer (ARCHITECTURE.md,
// "The parts"), so the hub reads the formats it writes itself; boxes are kept normalised.
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, dirname, join, relative, resolve, sep } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { KestrelError } from '@kestrel/core';
import type { GateBox, GateImage, GateSet, GateSetFormat } from './types.js';

const IMAGE_EXT = /\.(jpe?g|png|bmp|webp)$/i;
const KINDS = 'a `kestrel hub export --format yolo|coco` folder or a trainer dataset (dataset.json)';

export function loadGateSet(path: string): GateSet {
  const given = resolve(path);
  if (!existsSync(given)) throw new KestrelError('E_GATE_SET', `gate set ${given} does not exist; give ${KINDS}`);
  const root = statSync(given).isFile() ? dirname(given) : given;
  const file = statSync(given).isFile() ? basename(given) : undefined;
  const has = (name: string) => (file ? file === name : existsSync(join(root, name)));
  let set: Omit<GateSet, 'sha256' | 'labelSources'>;
  if (has('dataset.json')) set = readKestrel(root);
  else if (has('annotations.json') || file?.endsWith('.json')) set = readCoco(root, file ?? 'annotations.json');
  else if (has('data.yaml')) set = readYolo(root);
  else throw new KestrelError('E_GATE_SET', `${given} has none of dataset.json, data.yaml, annotations.json; give ${KINDS}`);
  if (set.images.length === 0) throw new KestrelError('E_GATE_SET', `gate set ${root} has no images: the models must be scored on reviewed images`);
  if (set.images.every((i) => i.boxes.length === 0)) {
    throw new KestrelError('E_GATE_SET', `gate set ${root} has ${set.images.length} images but no labelled objects: mAP is undefined on it`);
  }
  return { ...set, sha256: hashSet(set), ...labelSources(root) };
}

function readKestrel(root: string): Omit<GateSet, 'sha256' | 'labelSources'> {
  const manifest = readJson(join(root, 'dataset.json')) as { classes?: unknown; splits?: { test?: string[] } };
  const classes = classList(manifest.classes, join(root, 'dataset.json'));
  const imagesDir = join(root, 'images');
  // The test split is the part a trainer holds out; without one the whole folder is the set.
  const ids = manifest.splits?.test?.length ? manifest.splits.test : listImages(imagesDir);
  return { root, format: 'kestrel', classes, images: ids.map((id) => yoloImage(id, join(imagesDir, id), join(root, 'labels', id.replace(/\.[^./]+$/, '.txt')), classes.length)) };
}

function readYolo(root: string): Omit<GateSet, 'sha256' | 'labelSources'> {
  const yamlPath = join(root, 'data.yaml');
  let doc: { names?: unknown; test?: unknown };
  try {
    doc = (parseYaml(readFileSync(yamlPath, 'utf8')) ?? {}) as typeof doc;
  } catch (err) {
    throw new KestrelError('E_GATE_SET', `${yamlPath} is not valid YAML: ${(err as Error).message}`);
  }
  const names = doc.names;
  const classes = Array.isArray(names)
    ? classList(names, yamlPath)
    : classList(Object.entries((names ?? {}) as Record<string, unknown>).sort((a, b) => Number(a[0]) - Number(b[0])).map(([, v]) => v), yamlPath);
  // An Ultralytics data.yaml with a test folder holds it out; a hub export has only images/.
  const imagesDir = typeof doc.test === 'string' && existsSync(join(root, doc.test)) ? join(root, doc.test) : join(root, 'images');
  return {
    root,
    format: 'yolo',
    classes,
    images: listImages(imagesDir).map((id) => {
      const image = join(imagesDir, id);
      return yoloImage(id, image, labelPathFor(image), classes.length);
    }),
  };
}

interface CocoDoc {
  images?: { id: number; file_name: string; width: number; height: number }[];
  annotations?: { image_id: number; category_id: number; bbox: number[]; iscrowd?: number }[];
  categories?: { id: number; name: string }[];
}

function readCoco(root: string, file: string): Omit<GateSet, 'sha256' | 'labelSources'> {
  const jsonPath = join(root, file);
  const doc = readJson(jsonPath) as CocoDoc;
  if (!Array.isArray(doc.images) || !Array.isArray(doc.annotations) || !Array.isArray(doc.categories)) {
    throw new KestrelError('E_GATE_SET', `${jsonPath} is not COCO JSON (it needs images, annotations and categories)`);
  }
  const categories = [...doc.categories].sort((a, b) => a.id - b.id);
  const classes = classList(categories.map((c) => c.name), jsonPath);
  const classOf = new Map(categories.map((c, i) => [c.id, i]));
  const imagesDir = existsSync(join(root, 'images')) ? join(root, 'images') : root;
  const byId = new Map<number, GateImage & { width: number; height: number }>();
  for (const im of doc.images) {
    const path = join(imagesDir, im.file_name);
    if (!existsSync(path)) throw new KestrelError('E_GATE_SET', `${jsonPath}: image ${im.id} names ${im.file_name}, which is not in ${imagesDir}`);
    if (!(im.width > 0 && im.height > 0)) throw new KestrelError('E_GATE_SET', `${jsonPath}: image ${im.id} (${im.file_name}) has no width and height`);
    byId.set(im.id, { id: im.file_name, path, boxes: [], ignore: [], width: im.width, height: im.height });
  }
  for (const a of doc.annotations) {
    const image = byId.get(a.image_id);
    const classId = classOf.get(a.category_id);
    if (!image) throw new KestrelError('E_GATE_SET', `${jsonPath}: an annotation names image ${a.image_id}, which the file does not list`);
    if (classId === undefined) throw new KestrelError('E_GATE_SET', `${jsonPath}: an annotation of image ${a.image_id} names category ${a.category_id}, which the file does not list`);
    const [x, y, w, h] = a.bbox;
    const box: GateBox = { classId, box: [x / image.width, y / image.height, (x + w) / image.width, (y + h) / image.height] };
    (a.iscrowd ? image.ignore : image.boxes).push(box);
  }
  return { root, format: 'coco', classes, images: [...byId.values()].map(({ width: _w, height: _h, ...rest }) => rest) };
}

function yoloImage(id: string, path: string, labelPath: string, classCount: number): GateImage {
  if (!existsSync(path)) throw new KestrelError('E_GATE_SET', `image ${path} does not exist`);
  // No label file is YOLO's way of saying "nothing here".
  const text = existsSync(labelPath) ? readFileSync(labelPath, 'utf8') : '';
  const boxes: GateBox[] = [];
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = raw.trim();
    if (!line || line.startsWith('#')) return;
    const v = line.split(/\s+/).map(Number);
    if (v.length !== 5 || v.some((n) => !Number.isFinite(n)) || !Number.isInteger(v[0]) || v[0] < 0 || v[0] >= classCount || !(v[3] > 0 && v[4] > 0)) {
      throw new KestrelError('E_GATE_SET', `${labelPath}:${i + 1}: expected "class cx cy w h" with a class in 0..${classCount - 1} and a positive size, got "${line}"`);
    }
    const [classId, cx, cy, w, h] = v;
    boxes.push({ classId, box: [cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2] });
  });
  return { id, path, boxes, ignore: [] };
}

function classList(value: unknown, where: string): string[] {
  if (!Array.isArray(value) || value.length === 0 || value.some((c) => typeof c !== 'string')) {
    throw new KestrelError('E_GATE_SET', `${where}: the class names must be a non-empty list of names`);
  }
  return value as string[];
}

function readJson(path: string): unknown {
  try {
    return JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new KestrelError('E_GATE_SET', `${path} is not valid JSON: ${(err as Error).message}`);
  }
}

/** Image files under `dir`, as paths relative to it with forward slashes, sorted. */
function listImages(dir: string): string[] {
  if (!existsSync(dir)) return [];
  const out: string[] = [];
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      if (e.isDirectory()) walk(join(d, e.name));
      else if (IMAGE_EXT.test(e.name)) out.push(relative(dir, join(d, e.name)).split(sep).join('/'));
    }
  };
  walk(dir);
  return out.sort();
}

/** YOLO's rule: the label of .../images/a/b.jpg is .../labels/a/b.txt. */
function labelPathFor(image: string): string {
  const parts = image.split(sep);
  const at = parts.lastIndexOf('images');
  if (at >= 0) parts[at] = 'labels';
  return parts.join(sep).replace(/\.[^./]+$/, '.txt');
}

function hashSet(set: Omit<GateSet, 'sha256' | 'labelSources'>): string {
  const h = createHash('sha256');
  h.update(JSON.stringify(set.classes));
  for (const image of [...set.images].sort((a, b) => (a.id < b.id ? -1 : 1))) {
    h.update(image.id);
    h.update(readFileSync(image.path));
    h.update(JSON.stringify([image.boxes, image.ignore]));
  }
  return h.digest('hex');
}

/** A hub export says which images a person reviewed: device pre-labels would favour the model that made them. */
function labelSources(root: string): Pick<GateSet, 'labelSources'> {
  const path = join(root, 'kestrel-export.json');
  if (!existsSync(path)) return {};
  const doc = readJson(path) as { labelSources?: { reviewed?: number; device?: number } };
  const s = doc.labelSources;
  return s && typeof s.reviewed === 'number' && typeof s.device === 'number' ? { labelSources: { reviewed: s.reviewed, device: s.device } } : {};
}

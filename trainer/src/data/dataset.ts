// Loading a dataset from disk. Kestrel's format is YOLO txt labels (images/ + labels/) described
// by dataset.json; an Ultralytics data.yaml folder loads as it is, so users need not convert.
import { readFileSync, existsSync, statSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { join, resolve, dirname, basename, isAbsolute, relative, sep } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { KestrelError } from '@kestrel/core/util/errors';
import { labelPathForImage, listImages, isImageFile } from './files.js';
import { parseYoloLabels } from './yolo-labels.js';
import { SPLITS, type Dataset, type DatasetItem, type DatasetManifest, type SplitName } from './types.js';

export const MANIFEST_FILE = 'dataset.json';

/**
 * A dataset by its folder (dataset.json, or an Ultralytics data.yaml in it), or by the file
 * itself: `--data coco8.yaml` as `yolo train data=coco8.yaml` takes it, or a dataset.json.
 */
export function loadDataset(dir: string): Dataset {
  const root = resolve(dir);
  if (!existsSync(root)) throw new KestrelError('E_DATASET_MISSING', `dataset ${/\.(ya?ml|json)$/i.test(root) ? 'file' : 'folder'} ${root} does not exist`);
  if (statSync(root).isFile()) {
    if (/\.ya?ml$/i.test(root)) return loadUltralyticsDataset(root);
    if (basename(root) === MANIFEST_FILE) return loadKestrelDataset(dirname(root));
    throw new KestrelError('E_DATASET_FORMAT', `${root} is a file but neither a data.yaml nor ${MANIFEST_FILE}: give the dataset's folder or its data.yaml`);
  }
  if (existsSync(join(root, MANIFEST_FILE))) return loadKestrelDataset(root);
  const yamlPath = ['data.yaml', 'data.yml', 'dataset.yaml'].map((f) => join(root, f)).find(existsSync);
  if (yamlPath) return loadUltralyticsDataset(yamlPath);
  throw new KestrelError('E_DATASET_FORMAT', `${root} has neither ${MANIFEST_FILE} nor data.yaml; import it with "kestrel dataset import" or add one`);
}

function loadKestrelDataset(root: string): Dataset {
  const manifestPath = join(root, MANIFEST_FILE);
  let manifest: DatasetManifest;
  try {
    manifest = JSON.parse(readFileSync(manifestPath, 'utf8')) as DatasetManifest;
  } catch (err) {
    throw new KestrelError('E_DATASET_FORMAT', `${manifestPath} is not valid JSON: ${(err as Error).message}`);
  }
  if (!Array.isArray(manifest.classes) || manifest.classes.length === 0 || manifest.classes.some((c) => typeof c !== 'string')) {
    throw new KestrelError('E_DATASET_FORMAT', `${manifestPath}: "classes" must be a non-empty array of names`);
  }
  const imagesDir = join(root, 'images');
  const items = listImages(imagesDir).map((id) => readItem(id, join(imagesDir, id), join(root, 'labels', id.replace(/\.[^./]+$/, '.txt')), manifest.classes.length));
  attachSoftScores(root, items);
  const known = new Set(items.map((i) => i.id));
  const splits = emptySplits();
  for (const split of SPLITS) {
    for (const id of manifest.splits?.[split] ?? []) {
      if (!known.has(id)) throw new KestrelError('E_DATASET_FORMAT', `${manifestPath}: split "${split}" names ${id}, which is not in images/`);
      splits[split].push(id);
    }
  }
  return { root, name: manifest.name ?? basename(root), classes: manifest.classes, items, splits };
}

interface UltralyticsYaml {
  path?: string;
  train?: string | string[];
  val?: string | string[];
  test?: string | string[];
  names?: string[] | Record<string, string>;
  nc?: number;
}

function loadUltralyticsDataset(yamlPath: string): Dataset {
  let doc: UltralyticsYaml;
  try {
    doc = (parseYaml(readFileSync(yamlPath, 'utf8')) ?? {}) as UltralyticsYaml;
  } catch (err) {
    throw new KestrelError('E_DATASET_FORMAT', `${yamlPath} is not valid YAML: ${(err as Error).message}`);
  }
  const classes = classNames(doc, yamlPath);
  const here = dirname(yamlPath);
  const base = doc.path ? (isAbsolute(doc.path) ? doc.path : resolve(here, doc.path)) : here;
  const baseOk = existsSync(base) ? base : here; // a path written on another machine: fall back to the yaml's folder
  const imagesRoot = existsSync(join(baseOk, 'images')) ? join(baseOk, 'images') : baseOk;
  const splits = emptySplits();
  const byId = new Map<string, DatasetItem>();
  for (const split of SPLITS) {
    for (const entry of [doc[split] ?? []].flat()) {
      for (const imagePath of splitImages(resolve(baseOk, entry), yamlPath, split)) {
        const id = relative(imagesRoot, imagePath).split(sep).join('/');
        if (!byId.has(id)) byId.set(id, readItem(id, imagePath, labelPathForImage(imagePath), classes.length));
        splits[split].push(id);
      }
    }
  }
  if (byId.size === 0) {
    for (const id of listImages(imagesRoot)) byId.set(id, readItem(id, join(imagesRoot, id), labelPathForImage(join(imagesRoot, id)), classes.length));
  }
  return { root: baseOk, name: basename(baseOk), classes, items: [...byId.values()].sort((a, b) => (a.id < b.id ? -1 : 1)), splits };
}

function classNames(doc: UltralyticsYaml, yamlPath: string): string[] {
  if (Array.isArray(doc.names)) return doc.names.map(String);
  if (doc.names && typeof doc.names === 'object') {
    const entries = Object.entries(doc.names).map(([k, v]) => [Number(k), String(v)] as const).sort((a, b) => a[0] - b[0]);
    entries.forEach(([k], i) => {
      if (k !== i) throw new KestrelError('E_DATASET_FORMAT', `${yamlPath}: names must be numbered 0..${entries.length - 1} without gaps (found ${k} at position ${i})`);
    });
    return entries.map(([, v]) => v);
  }
  if (typeof doc.nc === 'number') return Array.from({ length: doc.nc }, (_, i) => `class${i}`);
  throw new KestrelError('E_DATASET_FORMAT', `${yamlPath} has no "names" (the class names)`);
}

/** A split entry is a folder of images or a .txt file listing image paths. */
function splitImages(path: string, yamlPath: string, split: string): string[] {
  if (!existsSync(path)) throw new KestrelError('E_DATASET_FORMAT', `${yamlPath}: ${split} path ${path} does not exist`);
  if (statSync(path).isDirectory()) return listImages(path).map((p) => join(path, p));
  const listDir = dirname(path);
  return readFileSync(path, 'utf8').split(/\r?\n/).map((l) => l.trim()).filter((l) => l && isImageFile(l)).map((l) => resolve(listDir, l));
}

function readItem(id: string, imagePath: string, labelPath: string, classCount: number): DatasetItem {
  // No label file means an image with no objects (YOLO's convention for background images).
  const boxes = existsSync(labelPath) ? parseYoloLabels(readFileSync(labelPath, 'utf8'), labelPath, classCount) : [];
  return { id, imagePath, labelPath, boxes };
}

/** Distillation datasets keep the teacher's score of every label line in soft_scores.json. */
export const SOFT_SCORES_FILE = 'soft_scores.json';

function attachSoftScores(root: string, items: DatasetItem[]): void {
  const path = join(root, SOFT_SCORES_FILE);
  if (!existsSync(path)) return;
  const scores = JSON.parse(readFileSync(path, 'utf8')) as Record<string, number[]>;
  for (const item of items) {
    const s = scores[item.id];
    if (!s) continue;
    if (s.length !== item.boxes.length) throw new KestrelError('E_DATASET_FORMAT', `${path}: ${item.id} has ${s.length} scores for ${item.boxes.length} label lines`);
    item.boxes.forEach((b, i) => (b.score = s[i]));
  }
}

export function emptySplits(): Record<SplitName, string[]> {
  return { train: [], val: [], test: [] };
}

export function writeManifest(root: string, manifest: DatasetManifest): void {
  writeFileSync(join(root, MANIFEST_FILE), JSON.stringify(manifest, null, 2) + '\n');
}

export function readManifest(root: string): DatasetManifest {
  return JSON.parse(readFileSync(join(root, MANIFEST_FILE), 'utf8')) as DatasetManifest;
}

/**
 * A short content hash of the dataset (class names, every image's bytes and its labels): the
 * `kestrel.trained_from` a model carries, so a model can be traced to exactly the data it saw.
 */
export function datasetHash(ds: Dataset): string {
  const h = createHash('sha256');
  h.update(JSON.stringify(ds.classes));
  for (const item of [...ds.items].sort((a, b) => (a.id < b.id ? -1 : 1))) {
    h.update(item.id);
    h.update(readFileSync(item.imagePath));
    h.update(JSON.stringify(item.boxes));
  }
  return `sha256:${h.digest('hex').slice(0, 16)}`;
}

/** The items of one split, in split order. */
export function splitItems(ds: Dataset, split: SplitName): DatasetItem[] {
  const byId = new Map(ds.items.map((i) => [i.id, i]));
  return ds.splits[split].map((id) => byId.get(id)!).filter(Boolean);
}

import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { stringify } from 'yaml';
import { KestrelError } from '@kestrel/core';
import type { BlobStore, RecordStore, SampleFilter, SampleRecord } from '../store/types.js';
import { writeLabelStudio } from './labelstudio.js';
import { imageFileName, selectLabels, type ImageLabel, type LabelSource } from './labels.js';

export type ExportFormat = 'yolo' | 'coco' | 'labelstudio';

export interface ExportOptions {
  format: ExportFormat;
  /** Output folder: created, or empty. */
  out: string;
  filter?: SampleFilter;
  /** Device pre-labels below this score are left out (reviewed labels have no score and always count). */
  minScore?: number;
  /** Class names in id order; labels not listed are left out. Default: every label used, sorted. */
  classes?: string[];
  /** labelstudio: what each task's image URL starts with (the file name follows). */
  imageUrl?: string;
}

export interface ExportReport {
  format: ExportFormat;
  out: string;
  images: number;
  boxes: number;
  classes: string[];
  /** Images whose labels a person reviewed, and images with device pre-labels. */
  labelSources: Record<LabelSource, number>;
  /** Left out, by reason. */
  skipped: Record<string, number>;
}

/** The agent's default event threshold: pre-labels at least as sure as what the agent reports. */
export const DEFAULT_EXPORT_MIN_SCORE = 0.35;

interface Item {
  sample: SampleRecord;
  file: string;
  source: LabelSource;
  labels: ImageLabel[];
}

/**
 * Writes the selected samples as a dataset the trainer imports directly (`kestrel dataset import`):
 * - yolo: images/, labels/ (`class cx cy w h`, normalised) and data.yaml with the class names;
 * - coco: images/ and annotations.json (bbox [x, y, w, h] in pixels, category ids from 1);
 * - labelstudio: images/, labelstudio-tasks.json (tasks with pre-annotations) and labelstudio-config.xml.
 * Both add kestrel-export.json: the filter, the counts, and each image's device, camera, reasons
 * and label source.
 */
export async function exportDataset(stores: { records: RecordStore; blobs: BlobStore }, options: ExportOptions): Promise<ExportReport> {
  const out = resolve(options.out);
  if (existsSync(out) && readdirSync(out).length > 0) throw new KestrelError('E_EXPORT_EXISTS', `${out} is not empty; export into a new or empty folder`);
  const minScore = options.minScore ?? DEFAULT_EXPORT_MIN_SCORE;
  const fixed = options.classes ? new Set(options.classes) : undefined;
  const skipped: Record<string, number> = {};
  const count = (why: string, n = 1): void => {
    skipped[why] = (skipped[why] ?? 0) + n;
  };

  mkdirSync(join(out, 'images'), { recursive: true });
  const items: Item[] = [];
  let after: string | undefined;
  do {
    const page = await stores.records.listSamples(options.filter ?? {}, { limit: 500, after });
    for (const sample of page.samples) {
      const image = await stores.blobs.get(sample.blobKey);
      if (!image) {
        count('image missing from the blob store');
        continue;
      }
      const file = imageFileName(sample);
      writeFileSync(join(out, 'images', file), image);
      const selection = selectLabels(sample, { minScore, classes: fixed });
      for (const [why, n] of Object.entries(selection.skipped)) count(why, n);
      items.push({ sample, file, source: selection.source, labels: selection.labels });
    }
    after = page.next;
  } while (after);

  const classes = options.classes ?? [...new Set(items.flatMap((i) => i.labels.map((l) => l.label)))].sort();
  const classId = new Map(classes.map((name, index) => [name, index]));
  if (options.format === 'yolo') writeYolo(out, items, classes, classId);
  else if (options.format === 'coco') writeCoco(out, items, classes, classId);
  else writeLabelStudio(out, items, classes, options.imageUrl);

  const report: ExportReport = {
    format: options.format,
    out,
    images: items.length,
    boxes: items.reduce((n, i) => n + i.labels.length, 0),
    classes,
    labelSources: { reviewed: items.filter((i) => i.source === 'reviewed').length, device: items.filter((i) => i.source === 'device').length },
    skipped,
  };
  writeFileSync(
    join(out, 'kestrel-export.json'),
    `${JSON.stringify(
      {
        schema: 1,
        exportedAt: new Date().toISOString(),
        filter: options.filter ?? {},
        minScore,
        ...reportWithoutFolder(report),
        items: items.map((i) => ({
          file: i.file,
          deviceId: i.sample.deviceId,
          sampleId: i.sample.id,
          camera: i.sample.camera,
          capturedAt: i.sample.capturedAt,
          reasons: i.sample.reasons,
          modelVersion: i.sample.modelVersion,
          labels: i.source,
        })),
      },
      null,
      2,
    )}\n`,
  );
  return report;
}

function writeYolo(out: string, items: Item[], classes: string[], classId: Map<string, number>): void {
  mkdirSync(join(out, 'labels'), { recursive: true });
  for (const item of items) {
    const [iw, ih] = item.sample.imageSize;
    const lines = item.labels.map(({ label, box: [x1, y1, x2, y2] }) =>
      [classId.get(label)!, (x1 + x2) / 2 / iw, (y1 + y2) / 2 / ih, (x2 - x1) / iw, (y2 - y1) / ih].map((v, k) => (k === 0 ? String(v) : round6(v))).join(' '),
    );
    // An image without objects gets an empty label file: YOLO's way of saying "background".
    writeFileSync(join(out, 'labels', item.file.replace(/\.jpg$/, '.txt')), lines.map((l) => `${l}\n`).join(''));
  }
  const header = '# Kestrel hub export: device detections as pre-labels, reviewed labels where a person gave them.\n';
  writeFileSync(join(out, 'data.yaml'), header + stringify({ path: '.', train: 'images', names: Object.fromEntries(classes.map((c, i) => [i, c])) }));
}

function writeCoco(out: string, items: Item[], classes: string[], classId: Map<string, number>): void {
  let annotationId = 0;
  const doc = {
    info: { description: 'Kestrel hub export', date_created: new Date().toISOString(), version: '1' },
    images: items.map((item, index) => ({
      id: index + 1,
      file_name: item.file,
      width: item.sample.imageSize[0],
      height: item.sample.imageSize[1],
      date_captured: new Date(item.sample.capturedAt).toISOString(),
      kestrel: { deviceId: item.sample.deviceId, sampleId: item.sample.id, camera: item.sample.camera, reasons: item.sample.reasons, labels: item.source },
    })),
    annotations: items.flatMap((item, index) =>
      item.labels.map(({ label, box: [x1, y1, x2, y2], score }) => ({
        id: ++annotationId,
        image_id: index + 1,
        category_id: classId.get(label)! + 1,
        bbox: [x1, y1, x2 - x1, y2 - y1].map(round2),
        area: round2((x2 - x1) * (y2 - y1)),
        iscrowd: 0,
        ...(score !== undefined ? { score } : {}),
      })),
    ),
    categories: classes.map((name, index) => ({ id: index + 1, name, supercategory: 'object' })),
  };
  writeFileSync(join(out, 'annotations.json'), `${JSON.stringify(doc)}\n`);
}

/** The export folder's own path stays out of its manifest (the folder may move). */
function reportWithoutFolder({ out: _out, ...rest }: ExportReport): Omit<ExportReport, 'out'> {
  return rest;
}

function round6(v: number): string {
  return (Math.round(v * 1e6) / 1e6).toString();
}

function round2(v: number): number {
  return Math.round(v * 100) / 100;
}

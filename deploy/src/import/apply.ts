import { KestrelError } from '@kestrel/core';
import { checkLabels, nextReviewAt, ReviewError, type ReviewRules } from '../review/rules.js';
import { sampleKey, type LabelBoxRecord, type RecordStore, type SampleRecord } from '../store/types.js';
import { parseCoco } from './coco.js';
import { parseLabelStudio } from './labelstudio.js';
import type { ParsedImport } from './types.js';

export type ImportFormat = 'coco' | 'labelstudio';

export interface ImportReport {
  format: ImportFormat;
  /** Samples whose reviewed labels the file set. */
  saved: number;
  boxes: number;
  /** Of those, how many say "nothing here". */
  empty: number;
  /** Entries without a review in the file (Label Studio tasks nobody annotated): left as they were. */
  unlabelled: number;
  /** Samples someone reviewed again while the import ran: their newer review was kept. */
  conflicts: string[];
}

/** Half a pixel past the edge is rounding in the tool's percentages, not a box outside the image. */
const EDGE_SLACK_PX = 0.5;

/**
 * Writes a labelling tool's file back as reviewed labels, by sample id. Everything is checked
 * first (every sample exists, every box inside its image, every class name valid, no sample
 * twice): with any problem nothing is written and the error lists them. Boxes go from the
 * file's image pixels to the sample's frame pixels, where the hub keeps labels.
 */
export async function importReviews(records: RecordStore, format: ImportFormat, doc: unknown, options: { by: string; rules: ReviewRules; now?: () => number }): Promise<ImportReport> {
  const parsed: ParsedImport = format === 'coco' ? parseCoco(doc) : parseLabelStudio(doc);
  const problems = [...parsed.problems];
  const seen = new Set<string>();
  const planned: { sample: SampleRecord; labels: LabelBoxRecord[] }[] = [];
  for (const image of parsed.images) {
    const key = sampleKey(image.deviceId, image.sampleId);
    if (seen.has(key)) {
      problems.push(`${image.where}: sample "${image.sampleId}" of device "${image.deviceId}" is in the file twice`);
      continue;
    }
    seen.add(key);
    const sample = await records.getSample(image.deviceId, image.sampleId);
    if (!sample) {
      problems.push(`${image.where}: no sample "${image.sampleId}" of device "${image.deviceId}" on this hub`);
      continue;
    }
    const [iw, ih] = sample.imageSize;
    const [fw, fh] = sample.frameSize;
    // The file's coordinates are of the image it was labelled on; usually the stored JPEG itself.
    const [ow, oh] = image.size ?? [iw, ih];
    const sx = fw / ow;
    const sy = fh / oh;
    const snap = (v: number, max: number) => (v < 0 && v > -EDGE_SLACK_PX ? 0 : v > max && v < max + EDGE_SLACK_PX ? max : v);
    const labels = image.labels.map((l) => ({
      label: l.label,
      box: [snap(l.box[0], ow) * sx, snap(l.box[1], oh) * sy, snap(l.box[2], ow) * sx, snap(l.box[3], oh) * sy],
    }));
    try {
      planned.push({ sample, labels: checkLabels(labels, sample, options.rules) });
    } catch (err) {
      if (!(err instanceof ReviewError)) throw err;
      problems.push(`${image.where}: ${err.message}`);
    }
  }
  if (problems.length) {
    const shown = problems.slice(0, 20).map((p) => `  ${p}`).join('\n');
    throw new KestrelError('E_IMPORT', `nothing imported: ${problems.length} problem${problems.length === 1 ? '' : 's'} in the file:\n${shown}${problems.length > 20 ? `\n  ... and ${problems.length - 20} more` : ''}`, { problems });
  }

  const now = options.now ?? Date.now;
  const report: ImportReport = { format, saved: 0, boxes: 0, empty: 0, unlabelled: parsed.unlabelled, conflicts: [] };
  for (const { sample, labels } of planned) {
    const expectedAt = sample.reviewed?.at ?? null;
    const outcome = await records.replaceReviewed(sample.deviceId, sample.id, expectedAt, { labels, by: options.by, at: nextReviewAt(now(), expectedAt) });
    if (outcome !== 'saved') {
      report.conflicts.push(sampleKey(sample.deviceId, sample.id));
      continue;
    }
    report.saved++;
    report.boxes += labels.length;
    if (labels.length === 0) report.empty++;
  }
  return report;
}

import type { LabelBoxRecord, SampleRecord } from '../store/types.js';

/** Where an exported image's labels came from. */
export type LabelSource = 'reviewed' | 'device';

export interface ImageLabel {
  label: string;
  /** [x1, y1, x2, y2] in the stored JPEG's pixels, clipped to it. */
  box: [number, number, number, number];
  score?: number;
}

export interface LabelSelection {
  source: LabelSource;
  labels: ImageLabel[];
  /** Boxes left out, by reason. */
  skipped: Record<string, number>;
}

/**
 * The labels an export writes for one sample: a person's reviewed labels when there are any
 * (an empty reviewed list means "nothing here" and wins too), else the device model's detections
 * with score ≥ minScore. Boxes move from source pixels to the JPEG's (imageSize / frameSize).
 */
export function selectLabels(sample: SampleRecord, options: { minScore: number; classes?: ReadonlySet<string> }): LabelSelection {
  const skipped: Record<string, number> = {};
  const skip = (why: string): void => {
    skipped[why] = (skipped[why] ?? 0) + 1;
  };
  const source: LabelSource = sample.reviewed ? 'reviewed' : 'device';
  const input: LabelBoxRecord[] = sample.reviewed ? sample.reviewed.labels : sample.detections;
  const [fw, fh] = sample.frameSize;
  const [iw, ih] = sample.imageSize;
  const sx = iw / fw;
  const sy = ih / fh;
  const labels: ImageLabel[] = [];
  for (const l of input) {
    if (source === 'device' && (l.score ?? 0) < options.minScore) {
      skip('pre-label below --min-score');
      continue;
    }
    if (options.classes && !options.classes.has(l.label)) {
      skip('label not in --classes');
      continue;
    }
    const box: [number, number, number, number] = [clamp(l.box[0] * sx, iw), clamp(l.box[1] * sy, ih), clamp(l.box[2] * sx, iw), clamp(l.box[3] * sy, ih)];
    if (box[2] - box[0] < 1 || box[3] - box[1] < 1) {
      skip('box smaller than one pixel');
      continue;
    }
    labels.push({ label: l.label, box, ...(l.score !== undefined && source === 'device' ? { score: l.score } : {}) });
  }
  return { source, labels, skipped };
}

function clamp(v: number, max: number): number {
  return Math.min(max, Math.max(0, v));
}

/** A file name for a sample's image that is unique across devices: `<device>__<id>.jpg`. */
export function imageFileName(sample: Pick<SampleRecord, 'deviceId' | 'id'>): string {
  return `${sample.deviceId}__${sample.id}.jpg`;
}

import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ImageLabel, LabelSource } from './labels.js';
import type { SampleRecord } from '../store/types.js';

/** The names the import file and the labelling config share (Label Studio matches results to tags by them). */
export const LS_FROM_NAME = 'label';
export const LS_TO_NAME = 'image';

/** Where Label Studio finds an image when served from local files rooted at the export folder. */
export const DEFAULT_LS_IMAGE_URL = '/data/local-files/?d=images/';

export interface LabelStudioItem {
  sample: SampleRecord;
  file: string;
  source: LabelSource;
  labels: ImageLabel[];
}

/**
 * A Label Studio import file (labelstudio-tasks.json) and the labelling config it fits
 * (labelstudio-config.xml). Each task's data has the image URL (`imageUrl` + file name) and the
 * sample's ids (`kestrel_device_id`, `kestrel_sample_id`), which `kestrel hub import` reads back.
 * Device pre-labels become predictions (pre-annotations, with their scores); labels a person
 * already reviewed become an annotation. Boxes are in percent of the image, as Label Studio
 * stores them.
 */
export function writeLabelStudio(out: string, items: LabelStudioItem[], classes: string[], imageUrl = DEFAULT_LS_IMAGE_URL): void {
  const tasks = items.map((item) => {
    const [w, h] = item.sample.imageSize;
    const result = item.labels.map((l, k) => ({
      id: `k${k + 1}`,
      type: 'rectanglelabels',
      from_name: LS_FROM_NAME,
      to_name: LS_TO_NAME,
      original_width: w,
      original_height: h,
      image_rotation: 0,
      value: { x: pct(l.box[0], w), y: pct(l.box[1], h), width: pct(l.box[2] - l.box[0], w), height: pct(l.box[3] - l.box[1], h), rotation: 0, rectanglelabels: [l.label] },
      ...(l.score !== undefined ? { score: l.score } : {}),
    }));
    return {
      data: {
        [LS_TO_NAME]: `${imageUrl}${encodeURIComponent(item.file)}`,
        kestrel_device_id: item.sample.deviceId,
        kestrel_sample_id: item.sample.id,
        camera: item.sample.camera,
        reasons: item.sample.reasons.join(','),
        captured_at: new Date(item.sample.capturedAt).toISOString(),
      },
      ...(item.source === 'reviewed'
        ? { annotations: [{ result }] }
        : { predictions: [{ model_version: item.sample.modelVersion, score: Math.min(1, ...item.labels.map((l) => l.score ?? 1)), result }] }),
    };
  });
  writeFileSync(join(out, 'labelstudio-tasks.json'), `${JSON.stringify(tasks, null, 1)}\n`);
  const labels = classes.map((c) => `    <Label value="${escapeXml(c)}"/>`).join('\n');
  writeFileSync(
    join(out, 'labelstudio-config.xml'),
    `<View>\n  <Image name="${LS_TO_NAME}" value="$${LS_TO_NAME}"/>\n  <RectangleLabels name="${LS_FROM_NAME}" toName="${LS_TO_NAME}">\n${labels}\n  </RectangleLabels>\n</View>\n`,
  );
}

function pct(v: number, of: number): number {
  return Math.round((v / of) * 100 * 1e4) / 1e4;
}

function escapeXml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

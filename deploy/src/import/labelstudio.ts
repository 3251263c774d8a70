import { idsFromFileName, type ImportedImage, type ParsedImport } from './types.js';

interface LsResult {
  type?: unknown;
  original_width?: unknown;
  original_height?: unknown;
  value?: { x?: unknown; y?: unknown; width?: unknown; height?: unknown; rotation?: unknown; rectanglelabels?: unknown };
}
interface LsAnnotation {
  id?: unknown;
  result?: unknown;
  was_cancelled?: unknown;
  updated_at?: unknown;
  created_at?: unknown;
}

/**
 * Reads Label Studio's JSON export (a list of tasks): a task is one sample, found by the
 * `kestrel_device_id`/`kestrel_sample_id` the Kestrel import file put in its data, or else by its
 * image's file name. Its newest annotation that was not cancelled is the review; its
 * `rectanglelabels` results (x, y, width, height in percent of original_width × original_height)
 * are the boxes, and an annotation with none is "nothing here". Tasks nobody annotated are
 * counted, not imported. Rotated boxes are refused: a reviewed label is an upright box.
 */
export function parseLabelStudio(doc: unknown): ParsedImport {
  if (!Array.isArray(doc)) return { images: [], unlabelled: 0, problems: ['not a Label Studio JSON export: expected a list of tasks'] };
  const problems: string[] = [];
  const images: ImportedImage[] = [];
  let unlabelled = 0;
  doc.forEach((t, index) => {
    const task = (t ?? {}) as { id?: unknown; data?: Record<string, unknown>; annotations?: unknown };
    const where = `task ${typeof task.id === 'number' || typeof task.id === 'string' ? task.id : `[${index}]`}`;
    const data = task.data ?? {};
    const ids =
      typeof data.kestrel_device_id === 'string' && typeof data.kestrel_sample_id === 'string'
        ? { deviceId: data.kestrel_device_id, sampleId: data.kestrel_sample_id }
        : typeof data.image === 'string'
          ? idsFromFileName(data.image)
          : undefined;
    if (!ids) return void problems.push(`${where}: no kestrel_device_id/kestrel_sample_id in its data and no image named <device>__<id>.jpg`);
    const annotations = (Array.isArray(task.annotations) ? task.annotations : []) as LsAnnotation[];
    const done = annotations.filter((a) => a && a.was_cancelled !== true && Array.isArray(a.result));
    if (done.length === 0) return void unlabelled++;
    const newest = done.reduce((a, b) => (stamp(b) >= stamp(a) ? b : a));
    const entry: ImportedImage = { where, ...ids, labels: [] };
    for (const [k, r] of (newest.result as LsResult[]).entries()) {
      if (r?.type !== 'rectanglelabels') continue; // other tools' results (choices, text) carry no box
      const at = `${where}, result[${k}]`;
      const v = r.value ?? {};
      const nums = [v.x, v.y, v.width, v.height, r.original_width, r.original_height];
      if (!nums.every((n) => typeof n === 'number' && Number.isFinite(n))) {
        problems.push(`${at}: needs value.x, y, width, height and original_width, original_height as numbers`);
        continue;
      }
      if (typeof v.rotation === 'number' && Math.abs(v.rotation) > 1e-6) {
        problems.push(`${at}: a box rotated by ${v.rotation}° cannot be a reviewed label (upright boxes only)`);
        continue;
      }
      const labels = Array.isArray(v.rectanglelabels) ? v.rectanglelabels : [];
      if (labels.length !== 1 || typeof labels[0] !== 'string') {
        problems.push(`${at}: a box needs exactly one label in rectanglelabels, got ${JSON.stringify(v.rectanglelabels)}`);
        continue;
      }
      const [x, y, w, h, ow, oh] = nums as number[];
      entry.size ??= [ow, oh];
      entry.labels.push({ label: labels[0], box: [(x / 100) * ow, (y / 100) * oh, ((x + w) / 100) * ow, ((y + h) / 100) * oh] });
    }
    images.push(entry);
  });
  return { images, unlabelled, problems };
}

/** When an annotation was last saved (else its id, which Label Studio hands out in order). */
function stamp(a: LsAnnotation): number {
  const t = a.updated_at ?? a.created_at;
  const ms = typeof t === 'string' ? Date.parse(t) : NaN;
  return Number.isFinite(ms) ? ms : typeof a.id === 'number' ? a.id : 0;
}

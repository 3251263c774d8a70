import { idsFromFileName, type ImportedImage, type ParsedImport } from './types.js';

interface CocoImage {
  id?: unknown;
  file_name?: unknown;
  width?: unknown;
  height?: unknown;
  kestrel?: { deviceId?: unknown; sampleId?: unknown };
}

/**
 * Reads COCO JSON (as `kestrel hub export --format coco` writes it, after a labelling tool
 * edited it): each image is one sample, found by `images[].kestrel.{deviceId, sampleId}` or else
 * by its file name; its annotations (`bbox` [x, y, w, h] in the image's pixels, `category_id`
 * named by `categories`) are the reviewed labels, and an image without annotations is "nothing
 * here". Scores (pre-label leftovers) are dropped: a reviewed label is a person's.
 */
export function parseCoco(doc: unknown): ParsedImport {
  const problems: string[] = [];
  if (typeof doc !== 'object' || doc === null || !Array.isArray((doc as { images?: unknown }).images)) {
    return { images: [], unlabelled: 0, problems: ['not COCO JSON: expected an object with images, annotations and categories'] };
  }
  const { images, annotations = [], categories = [] } = doc as { images: CocoImage[]; annotations?: unknown[]; categories?: unknown[] };
  const names = new Map<unknown, string>();
  for (const c of Array.isArray(categories) ? categories : []) {
    const cat = c as { id?: unknown; name?: unknown };
    if (typeof cat.name === 'string') names.set(cat.id, cat.name);
  }
  const byImage = new Map<unknown, ImportedImage>();
  const out: ImportedImage[] = [];
  images.forEach((image, index) => {
    const where = `images[${index}]${typeof image.file_name === 'string' ? ` (${image.file_name})` : ''}`;
    const k = image.kestrel;
    const ids =
      k && typeof k.deviceId === 'string' && typeof k.sampleId === 'string'
        ? { deviceId: k.deviceId, sampleId: k.sampleId }
        : typeof image.file_name === 'string'
          ? idsFromFileName(image.file_name)
          : undefined;
    if (!ids) return void problems.push(`${where}: no kestrel.deviceId/sampleId and no file name of the form <device>__<id>.jpg`);
    const size: [number, number] | undefined = typeof image.width === 'number' && typeof image.height === 'number' ? [image.width, image.height] : undefined;
    const entry: ImportedImage = { where, ...ids, ...(size ? { size } : {}), labels: [] };
    byImage.set(image.id, entry);
    out.push(entry);
  });
  (Array.isArray(annotations) ? annotations : []).forEach((a, index) => {
    const ann = a as { image_id?: unknown; category_id?: unknown; bbox?: unknown };
    const where = `annotations[${index}]`;
    const entry = byImage.get(ann.image_id);
    if (!entry) return void problems.push(`${where}: image_id ${JSON.stringify(ann.image_id)} is not in images`);
    const label = names.get(ann.category_id);
    if (label === undefined) return void problems.push(`${where}: category_id ${JSON.stringify(ann.category_id)} is not in categories`);
    const bbox = ann.bbox;
    if (!Array.isArray(bbox) || bbox.length !== 4 || !bbox.every((v) => typeof v === 'number' && Number.isFinite(v))) return void problems.push(`${where}: bbox must be [x, y, width, height], four numbers`);
    const [x, y, w, h] = bbox as number[];
    entry.labels.push({ label, box: [x, y, x + w, y + h] });
  });
  return { images: out, unlabelled: 0, problems };
}

// What a person should know about a dataset before training on it: how many images and boxes,
// how the classes are balanced, how big the boxes are, and what looks wrong (duplicates, boxes
// outside the image, images without labels, unreadable images).
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { Dataset, SplitName } from './types.js';
import { imageSize } from './image.js';

export interface ClassStats {
  classId: number;
  name: string;
  boxes: number;
  images: number;
}

export interface DatasetStats {
  name: string;
  images: number;
  boxes: number;
  classes: ClassStats[];
  /** Largest over smallest box count among classes; null when some class has no box at all. */
  imbalance: number | null;
  /** Classes without a single box. */
  emptyClasses: string[];
  imagesWithoutBoxes: number;
  /** Box sides in pixels: quantiles of sqrt(w·h), and COCO's small/medium/large counts. */
  boxSize: { min: number; p10: number; median: number; p90: number; max: number; small: number; medium: number; large: number };
  imageSizes: Array<{ width: number; height: number; count: number }>;
  /** Groups of identical image files (same bytes). */
  duplicates: string[][];
  /** Boxes that reach outside the image (more than half a pixel), with where they are. */
  outsideImage: Array<{ id: string; classId: number; box: [number, number, number, number] }>;
  splits: Record<SplitName, number>;
}

export async function datasetStats(ds: Dataset): Promise<DatasetStats> {
  const classes: ClassStats[] = ds.classes.map((name, classId) => ({ classId, name, boxes: 0, images: 0 }));
  const sides: number[] = [];
  const sizes = new Map<string, number>();
  const byHash = new Map<string, string[]>();
  const outsideImage: DatasetStats['outsideImage'] = [];
  let small = 0, medium = 0, large = 0, imagesWithoutBoxes = 0;
  for (const item of ds.items) {
    const { width, height } = await imageSize(item.imagePath);
    sizes.set(`${width}x${height}`, (sizes.get(`${width}x${height}`) ?? 0) + 1);
    const hash = createHash('sha1').update(readFileSync(item.imagePath)).digest('hex');
    byHash.set(hash, [...(byHash.get(hash) ?? []), item.id]);
    if (item.boxes.length === 0) imagesWithoutBoxes++;
    const seen = new Set<number>();
    for (const { classId, box } of item.boxes) {
      classes[classId].boxes++;
      if (!seen.has(classId)) classes[classId].images++;
      seen.add(classId);
      const w = (box[2] - box[0]) * width;
      const h = (box[3] - box[1]) * height;
      const area = w * h;
      sides.push(Math.sqrt(area));
      // COCO's size classes: small < 32², medium < 96², large above.
      if (area < 32 * 32) small++;
      else if (area < 96 * 96) medium++;
      else large++;
      const tol = 0.5;
      if (box[0] * width < -tol || box[1] * height < -tol || box[2] * width > width + tol || box[3] * height > height + tol) {
        outsideImage.push({ id: item.id, classId, box: [box[0] * width, box[1] * height, box[2] * width, box[3] * height].map((v) => Math.round(v * 10) / 10) as [number, number, number, number] });
      }
    }
  }
  sides.sort((a, b) => a - b);
  const q = (p: number): number => (sides.length === 0 ? 0 : round1(sides[Math.min(sides.length - 1, Math.floor(p * (sides.length - 1) + 0.5))]));
  const counts = classes.filter((c) => c.boxes > 0).map((c) => c.boxes);
  const emptyClasses = classes.filter((c) => c.boxes === 0).map((c) => c.name);
  return {
    name: ds.name,
    images: ds.items.length,
    boxes: sides.length,
    classes,
    imbalance: emptyClasses.length > 0 || counts.length === 0 ? null : round1(Math.max(...counts) / Math.min(...counts)),
    emptyClasses,
    imagesWithoutBoxes,
    boxSize: { min: q(0), p10: q(0.1), median: q(0.5), p90: q(0.9), max: q(1), small, medium, large },
    imageSizes: [...sizes.entries()].map(([k, count]) => ({ width: Number(k.split('x')[0]), height: Number(k.split('x')[1]), count })).sort((a, b) => b.count - a.count),
    duplicates: [...byHash.values()].filter((ids) => ids.length > 1),
    outsideImage,
    splits: { train: ds.splits.train.length, val: ds.splits.val.length, test: ds.splits.test.length },
  };
}

function round1(v: number): number {
  return Math.round(v * 10) / 10;
}

/** A short human summary, one fact a line (for the terminal; --json gives the object). */
export function formatStats(s: DatasetStats): string {
  const lines = [
    `${s.name}: ${s.images} images, ${s.boxes} boxes, ${s.imagesWithoutBoxes} images without boxes`,
    `splits: train ${s.splits.train}, val ${s.splits.val}, test ${s.splits.test}`,
    ...s.classes.map((c) => `  ${c.classId} ${c.name.padEnd(16)} ${String(c.boxes).padStart(6)} boxes in ${c.images} images`),
    `class imbalance (most/least): ${s.imbalance === null ? `undefined (no boxes for ${s.emptyClasses.join(', ')})` : s.imbalance}`,
    `box size (√area px): min ${s.boxSize.min}, p10 ${s.boxSize.p10}, median ${s.boxSize.median}, p90 ${s.boxSize.p90}, max ${s.boxSize.max}; small ${s.boxSize.small}, medium ${s.boxSize.medium}, large ${s.boxSize.large}`,
    `image sizes: ${s.imageSizes.slice(0, 5).map((z) => `${z.width}x${z.height} (${z.count})`).join(', ')}`,
  ];
  if (s.duplicates.length > 0) lines.push(`duplicate images: ${s.duplicates.map((d) => d.join(' = ')).join('; ')}`);
  if (s.outsideImage.length > 0) lines.push(`boxes outside the image: ${s.outsideImage.length} (first: ${s.outsideImage[0].id} class ${s.outsideImage[0].classId} ${JSON.stringify(s.outsideImage[0].box)})`);
  return lines.join('\n');
}

// YOLO txt label files: one object per line, `class cx cy w h`, all but the class normalised to
// 0..1. Broken lines are user errors that must name the file and the line.
import { KestrelError } from '@kestrel/core/util/errors';
import type { LabelBox } from './types.js';

export function parseYoloLabels(text: string, file: string, classCount: number): LabelBox[] {
  const boxes: LabelBox[] = [];
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i].trim();
    if (line === '' || line.startsWith('#')) continue;
    const where = `${file}:${i + 1}`;
    const fields = line.split(/\s+/);
    if (fields.length !== 5) {
      const hint = fields.length > 5 && (fields.length - 1) % 2 === 0 ? ' (a segmentation polygon? detection labels have exactly 5)' : '';
      throw new KestrelError('E_DATASET_LABEL', `${where}: expected 5 fields "class cx cy w h", found ${fields.length}${hint}: "${line}"`);
    }
    const numbers = fields.map(Number);
    const bad = fields.findIndex((f, k) => f === '' || !Number.isFinite(numbers[k]));
    if (bad >= 0) throw new KestrelError('E_DATASET_LABEL', `${where}: field ${bad + 1} "${fields[bad]}" is not a number`);
    const [cls, cx, cy, w, h] = numbers;
    if (!Number.isInteger(cls) || cls < 0 || cls >= classCount) {
      throw new KestrelError('E_DATASET_LABEL', `${where}: class ${fields[0]} is not an integer in 0..${classCount - 1} (the dataset has ${classCount} classes)`);
    }
    if (!(w > 0 && h > 0)) throw new KestrelError('E_DATASET_LABEL', `${where}: box width and height must be > 0, got ${w} x ${h}`);
    if (cx > 2 || cy > 2 || w > 2 || h > 2) {
      throw new KestrelError('E_DATASET_LABEL', `${where}: coordinates must be normalised to 0..1, got ${fields.slice(1).join(' ')} (pixel coordinates?)`);
    }
    boxes.push({ classId: cls, box: [cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2] });
  }
  return boxes;
}

export function formatYoloLabels(boxes: readonly LabelBox[]): string {
  return boxes
    .map(({ classId, box: [x1, y1, x2, y2] }) => [classId, (x1 + x2) / 2, (y1 + y2) / 2, x2 - x1, y2 - y1].map((v, k) => (k === 0 ? String(v) : round6(v))).join(' '))
    .join('\n') + (boxes.length > 0 ? '\n' : '');
}

function round6(v: number): string {
  return (Math.round(v * 1e6) / 1e6).toString();
}

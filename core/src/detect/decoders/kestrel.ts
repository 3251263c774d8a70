import type { Detection } from '../types.js';
import type { KestrelMetadata } from '../../model/metadata.js';
import type { Decoder, OutputShapes } from './types.js';
import { gridSizes, outputsError } from './shared.js';

/**
 * The Kestrel detector's export contract: `scores` [1, N, C] after sigmoid and `boxes` [1, N, 4]
 * = distances (left, top, right, bottom) from each anchor point to the box sides, in input
 * pixels. Anchor points run stride by stride in the order of `kestrel.strides`, row-major, at
 * ((col + 0.5) × stride, (row + 0.5) × stride).
 */
export const kestrelDecoder: Decoder = {
  name: 'kestrel',
  check(shapes, meta) {
    anchorCount(shapes, meta);
  },
  decode(outputs, meta, options) {
    const shapes: OutputShapes = Object.fromEntries(Object.entries(outputs).map(([k, v]) => [k, v.dims]));
    anchorCount(shapes, meta);
    const numClasses = meta.labels.length;
    const scores = outputs.scores.data;
    const boxes = outputs.boxes.data;
    const out: Detection[] = [];
    let anchor = 0;
    for (const { stride, cols, rows } of gridSizes(meta, meta.strides ?? [])) {
      for (let cell = 0; cell < cols * rows; cell++, anchor++) {
        const sBase = anchor * numClasses;
        for (let c = 0; c < numClasses; c++) {
          const score = scores[sBase + c];
          if (score < options.scoreThreshold) continue;
          const cx = ((cell % cols) + 0.5) * stride;
          const cy = (Math.floor(cell / cols) + 0.5) * stride;
          const b = anchor * 4;
          out.push({ classId: c, label: meta.labels[c], score, box: [cx - boxes[b], cy - boxes[b + 1], cx + boxes[b + 2], cy + boxes[b + 3]] });
        }
      }
    }
    return out;
  },
};

function anchorCount(shapes: OutputShapes, meta: KestrelMetadata): number {
  if (!meta.strides || meta.strides.length === 0) throw outputsError('kestrel', shapes, 'the model has no kestrel.strides metadata');
  const n = gridSizes(meta, meta.strides).reduce((sum, g) => sum + g.cols * g.rows, 0);
  const s = shapes.scores;
  const b = shapes.boxes;
  if (!s || !b) throw outputsError('kestrel', shapes, 'expected outputs named "scores" and "boxes"');
  if (s.length !== 3 || s[1] !== n || s[2] !== meta.labels.length) throw outputsError('kestrel', shapes, `scores should be [1,${n},${meta.labels.length}]`);
  if (b.length !== 3 || b[1] !== n || b[2] !== 4) throw outputsError('kestrel', shapes, `boxes should be [1,${n},4]`);
  return n;
}

import type { Detection } from '../types.js';
import type { KestrelMetadata } from '../../model/metadata.js';
import type { Decoder, DecodeOptions, ModelOutputs, OutputShapes } from './types.js';
import { gridSizes, outputsError } from './shared.js';

/**
 * NanoDet (GFL head): per stride, class scores after sigmoid [1, cells, C] and box side
 * distributions [1, cells, 4 × (regMax + 1)]. A side's distance is the expected value of the
 * softmax over its bins, times the stride, measured from the cell centre.
 * Outputs are found by name (`scores_<s>`, `boxes_<s>`) or, failing that, by shape.
 */
export const nanodetDecoder: Decoder = {
  name: 'nanodet',
  check(shapes, meta) {
    resolve(shapes, meta);
  },
  decode(outputs, meta, options) {
    const shapes: OutputShapes = Object.fromEntries(Object.entries(outputs).map(([k, v]) => [k, v.dims]));
    const levels = resolve(shapes, meta);
    const numClasses = meta.labels.length;
    const bins = (meta.regMax ?? 7) + 1;
    const out: Detection[] = [];
    const dist = new Float32Array(4);
    for (const level of levels) {
      const scores = outputs[level.scores].data;
      const boxes = outputs[level.boxes].data;
      for (let cell = 0; cell < level.cols * level.rows; cell++) {
        const sBase = cell * numClasses;
        let decoded = false;
        for (let c = 0; c < numClasses; c++) {
          const score = scores[sBase + c];
          if (score < options.scoreThreshold) continue;
          if (!decoded) {
            sidesFromDistribution(boxes, cell * 4 * bins, bins, dist);
            decoded = true;
          }
          const cx = ((cell % level.cols) + 0.5) * level.stride;
          const cy = (Math.floor(cell / level.cols) + 0.5) * level.stride;
          out.push({
            classId: c,
            label: meta.labels[c],
            score,
            box: [cx - dist[0] * level.stride, cy - dist[1] * level.stride, cx + dist[2] * level.stride, cy + dist[3] * level.stride],
          });
        }
      }
    }
    return out;
  },
};

/** Softmax-expectation of each of the 4 sides' bins, in units of the stride. */
export function sidesFromDistribution(data: Float32Array, offset: number, bins: number, out: Float32Array): void {
  for (let side = 0; side < 4; side++) {
    const base = offset + side * bins;
    let max = -Infinity;
    for (let k = 0; k < bins; k++) if (data[base + k] > max) max = data[base + k];
    let sum = 0;
    let weighted = 0;
    for (let k = 0; k < bins; k++) {
      const e = Math.exp(data[base + k] - max);
      sum += e;
      weighted += e * k;
    }
    out[side] = weighted / sum;
  }
}

interface Level {
  stride: number;
  cols: number;
  rows: number;
  scores: string;
  boxes: string;
}

function resolve(shapes: OutputShapes, meta: KestrelMetadata): Level[] {
  const strides = meta.strides ?? [8, 16, 32];
  const numClasses = meta.labels.length;
  const bins = (meta.regMax ?? 7) + 1;
  const levels: Level[] = [];
  for (const { stride, cols, rows } of gridSizes(meta, strides)) {
    const cells = cols * rows;
    const byName = (prefix: string) => (shapes[`${prefix}_${stride}`] ? `${prefix}_${stride}` : undefined);
    const byShape = (last: number) =>
      Object.keys(shapes).find((k) => {
        const d = shapes[k];
        return d.length === 3 && d[1] === cells && d[2] === last;
      });
    const scores = byName('scores') ?? byShape(numClasses);
    const boxes = byName('boxes') ?? byShape(4 * bins);
    if (!scores) throw outputsError('nanodet', shapes, `no scores output [1,${cells},${numClasses}] for stride ${stride}`);
    if (!boxes) throw outputsError('nanodet', shapes, `no box distribution output [1,${cells},${4 * bins}] for stride ${stride}`);
    for (const [name, last] of [[scores, numClasses], [boxes, 4 * bins]] as const) {
      const d = shapes[name];
      if (d.length !== 3 || d[1] !== cells || d[2] !== last) {
        throw outputsError('nanodet', shapes, `${name} should be [1,${cells},${last}] for stride ${stride} at ${meta.input.width}x${meta.input.height}`);
      }
    }
    levels.push({ stride, cols, rows, scores, boxes });
  }
  return levels;
}

import type { Detection } from '../types.js';
import type { Decoder } from './types.js';
import { outputsError } from './shared.js';

/**
 * Ultralytics YOLOv8/YOLO11 detect exports: one output [1, 4 + C, anchors] (cx, cy, w, h in
 * input pixels, then class scores after sigmoid, no objectness). Some exporters transpose it to
 * [1, anchors, 4 + C]; both are accepted, told apart by which axis is 4 + C.
 */
export const yolov8Decoder: Decoder = {
  name: 'yolov8',
  check(shapes, meta) {
    layout(shapes, meta.labels.length);
  },
  decode(outputs, meta, options) {
    const numClasses = meta.labels.length;
    const shapes = Object.fromEntries(Object.entries(outputs).map(([k, v]) => [k, v.dims]));
    const { name, anchors, channelsFirst } = layout(shapes, numClasses);
    const data = outputs[name].data;
    const at = channelsFirst ? (ch: number, a: number) => data[ch * anchors + a] : (ch: number, a: number) => data[a * (4 + numClasses) + ch];
    const out: Detection[] = [];
    for (let a = 0; a < anchors; a++) {
      let best = -1;
      let bestScore = options.scoreThreshold;
      for (let c = 0; c < numClasses; c++) {
        const s = at(4 + c, a);
        if (s >= bestScore) {
          bestScore = s;
          best = c;
        }
      }
      if (best < 0) continue;
      const cx = at(0, a);
      const cy = at(1, a);
      const w = at(2, a);
      const h = at(3, a);
      out.push({ classId: best, label: meta.labels[best], score: bestScore, box: [cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2] });
    }
    return out;
  },
};

function layout(shapes: Record<string, readonly number[]>, numClasses: number): { name: string; anchors: number; channelsFirst: boolean } {
  const names = Object.keys(shapes);
  const channels = 4 + numClasses;
  for (const name of names) {
    const d = shapes[name];
    if (d.length !== 3 || d[0] !== 1) continue;
    if (d[1] === channels) return { name, anchors: d[2], channelsFirst: true };
    if (d[2] === channels) return { name, anchors: d[1], channelsFirst: false };
  }
  throw outputsError('yolov8', shapes, `expected one output [1, ${channels}, anchors] (4 box values + ${numClasses} classes); check the labels count`);
}

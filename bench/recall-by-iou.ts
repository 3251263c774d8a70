// Where a class's AP goes: per class, the share of test objects found (score >= 0.15) at IoU above
// 0.1, 0.3, 0.5 and 0.7. High recall at 0.1 and low at 0.5 means loose boxes, not misses (the
// factory set's scratches, session 3). Then how the found boxes are off: median signed error of
// width, height and centre (prediction − truth, pixels) and the median IoU, for thin objects
// (shorter side < 12 px) and the rest.
// Usage: node --conditions=kestrel-source --import tsx bench/recall-by-iou.ts <model.onnx|checkpoint> <dataset>
import { iou } from '@kestrel/core/detect/box';
import { loadDataset, splitItems } from '@kestrel/trainer/data/dataset';
import { effectiveSplits } from '@kestrel/trainer/data/split';
import { openPredictor, evaluatePredictor } from '@kestrel/trainer/eval/evaluate';
const [model, data] = process.argv.slice(2);
if (!model || !data) {
  console.error('usage: recall-by-iou.ts <model.onnx|checkpoint> <dataset>');
  process.exit(2);
}
const ds = loadDataset(data); const splits = effectiveSplits(ds, 0);
const items = splitItems({ ...ds, splits }, 'test');
const r = await evaluatePredictor(await openPredictor(model, 8, 2), items, ds);
console.log('map50', r.metrics.map50.toFixed(3), r.metrics.perClass.map((c) => `${c.label} ${c.ap50.toFixed(2)}`).join(', '));
for (let c = 0; c < ds.classes.length; c++) {
  const best: number[] = []; const sizes: string[] = [];
  const errors: Record<'thin' | 'other', Array<{ dw: number; dh: number; dx: number; dy: number; iou: number }>> = { thin: [], other: [] };
  r.truths.forEach((t, i) => {
    for (const g of t.boxes.filter((b) => b.classId === c)) {
      const p = r.predictions[i].detections.filter((d) => d.classId === c && d.score >= 0.15);
      const overlaps = p.map((d) => iou(d.box, g.box));
      const k = overlaps.indexOf(Math.max(...overlaps));
      best.push(Math.max(0, ...overlaps));
      sizes.push(`${(g.box[2] - g.box[0]).toFixed(0)}x${(g.box[3] - g.box[1]).toFixed(0)}`);
      if (k < 0 || overlaps[k] < 0.1) continue;
      const [a, b] = [p[k].box, g.box];
      // Thin: a box whose shorter side is its truth's thinnest direction, where one pixel matters.
      const thin = Math.min(b[2] - b[0], b[3] - b[1]) < 12;
      // Errors along the shorter side first (d_short) so horizontal and vertical thin boxes pool.
      const wide = b[2] - b[0] >= b[3] - b[1];
      const dLong = wide ? a[2] - a[0] - (b[2] - b[0]) : a[3] - a[1] - (b[3] - b[1]);
      const dShort = wide ? a[3] - a[1] - (b[3] - b[1]) : a[2] - a[0] - (b[2] - b[0]);
      const cLong = wide ? (a[0] + a[2] - b[0] - b[2]) / 2 : (a[1] + a[3] - b[1] - b[3]) / 2;
      const cShort = wide ? (a[1] + a[3] - b[1] - b[3]) / 2 : (a[0] + a[2] - b[0] - b[2]) / 2;
      errors[thin ? 'thin' : 'other'].push({ dw: dLong, dh: dShort, dx: cLong, dy: cShort, iou: overlaps[k] });
    }
  });
  const at = (th: number) => (best.filter((b) => b >= th).length / best.length).toFixed(2);
  console.log(`${ds.classes[c]}: ${best.length} objects; recall at IoU > 0.1 ${at(0.1)}, > 0.3 ${at(0.3)}, > 0.5 ${at(0.5)}, > 0.7 ${at(0.7)}; sizes ${sizes.slice(0, 8).join(' ')}`);
  for (const [kind, e] of Object.entries(errors)) {
    if (e.length === 0) continue;
    const med = (f: (x: (typeof e)[number]) => number) => { const v = e.map(f).sort((x, y) => x - y); return v[Math.floor(v.length / 2)].toFixed(1); };
    console.log(`  ${kind} (${e.length}): median IoU ${med((x) => x.iou)}; size error long ${med((x) => x.dw)} short ${med((x) => x.dh)}, |long| ${med((x) => Math.abs(x.dw))} |short| ${med((x) => Math.abs(x.dh))}; centre |long| ${med((x) => Math.abs(x.dx))} |short| ${med((x) => Math.abs(x.dy))} px`);
  }
}

import { loadDataset, splitItems } from '@kestrel/trainer/data/dataset';
import { effectiveSplits } from '@kestrel/trainer/data/split';
import { openPredictor, evaluatePredictor } from '@kestrel/trainer/eval/evaluate';
const [model, data] = process.argv.slice(2);
const ds = loadDataset(data); const splits = effectiveSplits(ds, 0);
const items = splitItems({ ...ds, splits }, 'test');
const r = await evaluatePredictor(await openPredictor(model, 8, 2), items, ds);
console.log('map50', r.metrics.map50.toFixed(3), r.metrics.perClass.map((c) => `${c.label} ${c.ap50.toFixed(2)}`).join(', '));
const iou = (a: number[], b: number[]) => { const iw = Math.max(0, Math.min(a[2], b[2]) - Math.max(a[0], b[0])); const ih = Math.max(0, Math.min(a[3], b[3]) - Math.max(a[1], b[1])); const i = iw * ih; return i / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - i); };
for (let c = 0; c < ds.classes.length; c++) {
  const best: number[] = []; const sizes: string[] = [];
  r.truths.forEach((t, i) => {
    for (const g of t.boxes.filter((b) => b.classId === c)) {
      const p = r.predictions[i].detections.filter((d) => d.classId === c && d.score >= 0.15);
      best.push(Math.max(0, ...p.map((d) => iou(d.box as number[], g.box as number[]))));
      sizes.push(`${(g.box[2] - g.box[0]).toFixed(0)}x${(g.box[3] - g.box[1]).toFixed(0)}`);
    }
  });
  const at = (th: number) => (best.filter((b) => b >= th).length / best.length).toFixed(2);
  console.log(ds.classes[c], 'n', best.length, 'recall@s.15 iou>.1', at(0.1), '>.3', at(0.3), '>.5', at(0.5), '>.7', at(0.7), 'sizes', sizes.slice(0, 8).join(' '));
}

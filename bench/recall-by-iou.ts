// Where a class's AP goes: per class, the share of test objects found (score >= 0.15) at IoU above
// 0.1, 0.3, 0.5 and 0.7. High recall at 0.1 and low at 0.5 means loose boxes, not misses (the
// factory set's scratches, session 3).
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
  r.truths.forEach((t, i) => {
    for (const g of t.boxes.filter((b) => b.classId === c)) {
      const p = r.predictions[i].detections.filter((d) => d.classId === c && d.score >= 0.15);
      best.push(Math.max(0, ...p.map((d) => iou(d.box, g.box))));
      sizes.push(`${(g.box[2] - g.box[0]).toFixed(0)}x${(g.box[3] - g.box[1]).toFixed(0)}`);
    }
  });
  const at = (th: number) => (best.filter((b) => b >= th).length / best.length).toFixed(2);
  console.log(`${ds.classes[c]}: ${best.length} objects; recall at IoU > 0.1 ${at(0.1)}, > 0.3 ${at(0.3)}, > 0.5 ${at(0.5)}, > 0.7 ${at(0.7)}; sizes ${sizes.slice(0, 8).join(' ')}`);
}

// Benchmark: does starting from the fleet's pretrained NanoDet (COCO) pay on a set that is not
// COCO's domain? On the synthetic factory set, the same wall-clock budget goes to
//   1. fine-tuning models/nanodet-416.onnx (backbone, neck and box head kept, class head new), and
//   2. training the Kestrel detector from scratch (the `kestrel train` default recipe), and, with
//      --arms …,nanodet-scratch,
//   3. training NanoDet's architecture from random weights (what the pretrained weights add),
// each exported to ONNX and scored on the test split with the trainer's eval (the agent's
// inference path): mAP@0.5 and mAP@.5:.95. NanoDet is heavy on wasm (≈ 5× the Kestrel detector
// per image at width 0.5), so both train on --crop crops of --imgsz frames; NanoDet is fully
// convolutional, so it trains and runs at any multiple of 32.
// Usage: node --conditions=kestrel-source --import tsx bench/finetune-vs-scratch.ts [--minutes 3 (each)] [--count 400]
//        [--seed 11] [--imgsz 320] [--crop 160 (0: whole frames)] [--batch 8] [--lr-finetune 0.001] [--lr-scratch 0.006]
//        [--width 0.5 (scratch)] [--from models/nanodet-416.onnx] [--arms finetune,scratch[,nanodet-scratch]] [--dir /tmp/kestrel-finetune-bench]
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { BUNDLED_MODEL_PATH } from '@kestrel/core/model/bundled';
import { silentLogger } from '@kestrel/core/util/log';
import { synthFactoryDataset } from '@kestrel/trainer/data/synth/factory';
import { train } from '@kestrel/trainer/train/trainer';
import { exportCheckpoint } from '@kestrel/trainer/export/export-onnx';
import { evaluate } from '@kestrel/trainer/eval/evaluate';
import { loadOnnxDetector } from '@kestrel/trainer/model/onnx-import';
import { buildDetector } from '@kestrel/trainer/model/build';
import { saveCheckpoint } from '@kestrel/trainer/model/checkpoint';
import { loadDataset } from '@kestrel/trainer/data/dataset';
import { selectBackend } from '@kestrel/trainer/backend/select';

const { values: v } = parseArgs({
  options: {
    minutes: { type: 'string', default: '3' }, count: { type: 'string', default: '400' }, seed: { type: 'string', default: '11' },
    imgsz: { type: 'string', default: '320' }, crop: { type: 'string', default: '160' }, batch: { type: 'string', default: '8' },
    'lr-finetune': { type: 'string', default: '0.001' }, 'lr-scratch': { type: 'string', default: '0.006' }, width: { type: 'string', default: '0.5' },
    from: { type: 'string', default: BUNDLED_MODEL_PATH }, dir: { type: 'string', default: '/tmp/kestrel-finetune-bench' },
    arms: { type: 'string', default: 'finetune,scratch' },
  },
});
const data = join(v.dir!, `synth-${v.count}-${v.seed}`);
if (!existsSync(join(data, 'dataset.json'))) await synthFactoryDataset(data, { count: Number(v.count), seed: Number(v.seed) });

const common = {
  data, epochs: 1000, timeMinutes: Number(v.minutes), imgsz: Number(v.imgsz), batch: Number(v.batch), cropSize: Number(v.crop) || undefined,
  // A fixed camera over a belt, as bench/train-factory.ts: no mosaic or zoom.
  augment: { mosaic: 0, scale: 0, flipUD: 0.5 }, patience: 1000, project: join(v.dir!, 'runs'), existOk: true, logger: silentLogger, progress: false,
};
const arms = new Set(v.arms!.split(','));
const runs = [
  { arm: 'finetune', name: 'fine-tuned from NanoDet', options: { ...common, name: 'finetune', from: v.from!, lr: Number(v['lr-finetune']) } },
  { arm: 'scratch', name: `from scratch (Kestrel, width ${v.width})`, options: { ...common, name: 'scratch', width: Number(v.width), lr: Number(v['lr-scratch']) } },
  { arm: 'nanodet-scratch', name: 'NanoDet architecture from random weights', options: { ...common, name: 'nanodet-scratch', from: await randomNanodet(), lr: Number(v['lr-finetune']) } },
].filter((r) => arms.has(r.arm));

/** A checkpoint of the rebuilt NanoDet with freshly initialised weights (only with that arm). */
async function randomNanodet(): Promise<string> {
  if (!arms.has('nanodet-scratch')) return '';
  await selectBackend();
  const imgsz = Number(v.imgsz);
  const { model } = loadOnnxDetector(v.from!, { labels: loadDataset(data).classes, inputHeight: imgsz, inputWidth: imgsz });
  const fresh = buildDetector(model.config, Number(v.seed));
  const dir = join(v.dir!, 'nanodet-random');
  await saveCheckpoint(dir, fresh, { epoch: 0, step: 0, bestFitness: 0, bestEpoch: 0 });
  model.net.dispose();
  fresh.net.dispose();
  return dir;
}
const rows: Array<Record<string, string | number>> = [];
for (const run of runs) {
  const r = await train(run.options);
  const onnx = join(r.runDir, 'best.onnx');
  await exportCheckpoint({ checkpoint: r.best, output: onnx, name: run.options.name });
  const test = await evaluate({ model: onnx, data, split: 'test', threads: 1 });
  rows.push({ model: run.name, seconds: Math.round(r.seconds), epochs: r.epochs, map50: test.metrics.map50, map50to95: test.metrics.map50to95, msPerImage: test.msPerImage });
  console.error(`${run.name}: ${JSON.stringify(rows[rows.length - 1])}`);
}
console.log(`factory set: ${v.count} images (seed ${v.seed}), --imgsz ${v.imgsz}, --crop ${v.crop}, ${v.minutes} min of training each, test split\n`);
console.log('| start | training s | epochs | test mAP@0.5 | test mAP@.5:.95 | ONNX ms/image |');
console.log('|---|---|---|---|---|---|');
for (const r of rows) console.log(`| ${r.model} | ${r.seconds} | ${r.epochs} | ${(r.map50 as number).toFixed(3)} | ${(r.map50to95 as number).toFixed(3)} | ${(r.msPerImage as number).toFixed(1)} |`);

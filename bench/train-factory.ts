// Benchmark: train the Kestrel detector on the synthetic factory set within a time budget, then
// score the exported ONNX model on the test split (the agent's own inference path).
// Target: mAP@0.5 ≥ 0.90 after ≤ 15 minutes of training on 2 cores.
// The defaults are a fixed camera over a belt: objects keep their scale (no mosaic, no zoom, so
// crops are whole-pixel copies as sharp as the camera's frames) and may flip top-bottom.
// Usage: node --conditions=kestrel-source --import tsx bench/train-factory.ts [--minutes 15] [--count 2000] [--seed 11 (dataset)]
//        [--imgsz 320] [--crop 160 (0: whole frames)] [--width 0.5] [--batch 16] [--lr 0.006] [--mosaic 0] [--scale 0] [--flipud 0.5]
//        [--box-bins 8 (0: one regressed value per side)] [--threads n] [--dir /tmp/kestrel-factory]
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { synthFactoryDataset } from '@kestrel/trainer/data/synth/factory';
import { train } from '@kestrel/trainer/train/trainer';
import { exportCheckpoint } from '@kestrel/trainer/export/export-onnx';
import { evaluate } from '@kestrel/trainer/eval/evaluate';

const { values: v } = parseArgs({
  options: {
    minutes: { type: 'string', default: '15' }, count: { type: 'string', default: '2000' }, seed: { type: 'string', default: '11' },
    imgsz: { type: 'string', default: '320' }, width: { type: 'string', default: '0.5' }, batch: { type: 'string', default: '16' },
    lr: { type: 'string', default: '0.006' }, crop: { type: 'string', default: '160' }, mosaic: { type: 'string', default: '0' }, epochs: { type: 'string', default: '300' },
    dir: { type: 'string', default: '/tmp/kestrel-factory' }, name: { type: 'string', default: 'bench' }, threads: { type: 'string' }, scale: { type: 'string', default: '0' }, flipud: { type: 'string', default: '0.5' },
    'box-bins': { type: 'string' },
  },
});
const data = join(v.dir!, `synth-${v.count}-${v.seed}`);
if (!existsSync(join(data, 'dataset.json'))) {
  const t0 = Date.now();
  await synthFactoryDataset(data, { count: Number(v.count), seed: Number(v.seed) });
  console.error(`synthesised ${v.count} images in ${((Date.now() - t0) / 1000).toFixed(0)} s`);
}
const r = await train({
  data, epochs: Number(v.epochs), timeMinutes: Number(v.minutes), imgsz: Number(v.imgsz), width: Number(v.width), batch: Number(v.batch), cropSize: Number(v.crop) || undefined,
  lr: Number(v.lr), ...(v['box-bins'] !== undefined ? { boxBins: Number(v['box-bins']) } : {}), threads: v.threads ? Number(v.threads) : undefined, augment: { mosaic: Number(v.mosaic), scale: Number(v.scale), flipUD: Number(v.flipud) }, patience: 100, project: join(v.dir!, 'runs'), name: v.name!,
});
const onnx = join(r.runDir, 'best.onnx');
await exportCheckpoint({ checkpoint: r.best, output: onnx, name: 'factory-bench' });
const test = await evaluate({ model: onnx, data, split: 'test', threads: 1 });
console.log(JSON.stringify({
  trainingSeconds: r.seconds, epochs: r.epochs, bestEpoch: r.bestEpoch, imgsz: Number(v.imgsz), crop: Number(v.crop), width: Number(v.width), boxBins: v['box-bins'] === undefined ? 'default' : Number(v['box-bins']),
  val: { map50: r.metrics.map50, map50to95: r.metrics.map50to95 },
  test: { images: test.images, map50: test.metrics.map50, map50to95: test.metrics.map50to95, msPerImage: test.msPerImage, perClass: test.metrics.perClass.map((c) => ({ label: c.label, ap50: Math.round(c.ap50 * 1000) / 1000 })) },
  runDir: r.runDir,
}, null, 1));

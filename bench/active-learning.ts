// Benchmark: does uncertainty sampling pay? Rounds of active learning on a labelled pool (the
// synthetic factory set): each round picks --per-round unlabelled frames, either as the agent's
// uncertainty strategy would (frames with a detection in its score band, most uncertain first)
// or at random, "labels" them from the ground truth, fine-tunes the arm's model from its last
// checkpoint for the same number of epochs, and scores it on the fixed test split.
// Both arms start from one model trained on the same random seed set. Prints a table per round
// and writes active-learning.svg/.png (mAP against labels used) and results.json into --dir.
// Target (issue #21): uncertainty reaches random's final mAP with at most 60% of the labels.
// Usage: node --conditions=kestrel-source --import tsx bench/active-learning.ts [--pool 600] [--seed 11]
//        [--start 20] [--per-round 20] [--rounds 4] [--epochs 8] [--imgsz 160] [--width 0.25] [--low 0.3 --high 0.6]
//        [--threads n] [--dir /tmp/kestrel-active-learning]
import { existsSync, mkdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { createLogger } from '@kestrel/core/util/log';
import { UncertaintyStrategy } from '@kestrel/agent/sampling/strategies/uncertainty';
import { synthFactoryDataset } from '@kestrel/trainer/data/synth/factory';
import { loadDataset, splitItems, writeManifest } from '@kestrel/trainer/data/dataset';
import { createRng, shuffle } from '@kestrel/trainer/data/rng';
import { train } from '@kestrel/trainer/train/trainer';
import { exportCheckpoint } from '@kestrel/trainer/export/export-onnx';
import { evaluate } from '@kestrel/trainer/eval/evaluate';
import { OnnxPredictor } from '@kestrel/trainer/eval/predictors';
import { chartGrid, svgToPng } from '@kestrel/trainer/report/svg-charts';
import type { DatasetItem } from '@kestrel/trainer/data/types';

const { values: v } = parseArgs({
  options: {
    pool: { type: 'string', default: '600' }, seed: { type: 'string', default: '11' }, start: { type: 'string', default: '20' },
    'per-round': { type: 'string', default: '20' }, rounds: { type: 'string', default: '4' }, epochs: { type: 'string', default: '8' },
    imgsz: { type: 'string', default: '160' }, width: { type: 'string', default: '0.25' }, low: { type: 'string', default: '0.3' }, high: { type: 'string', default: '0.6' },
    threads: { type: 'string' }, dir: { type: 'string', default: '/tmp/kestrel-active-learning' },
  },
});
const logger = createLogger('bench');
const perRound = Number(v['per-round']);
// The agent's default band (config/src/schema/sampling.ts: uncertainty.low/high).
const strategy = new UncertaintyStrategy({ low: Number(v.low), high: Number(v.high) });
const mid = (Number(v.low) + Number(v.high)) / 2;

const poolDir = join(v.dir!, `pool-${v.pool}-${v.seed}`);
if (!existsSync(join(poolDir, 'dataset.json'))) await synthFactoryDataset(poolDir, { count: Number(v.pool), seed: Number(v.seed) });
const pool = loadDataset(poolDir);
const unlabelledStart = splitItems(pool, 'train');
const valIds = pool.splits.val;
const testIds = pool.splits.test;

/** A dataset folder over the pool's images whose train split is what this arm has labelled so far. */
function roundData(name: string, labelled: readonly string[]): string {
  const dir = join(v.dir!, 'rounds', name);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  symlinkSync(join(poolDir, 'images'), join(dir, 'images'));
  symlinkSync(join(poolDir, 'labels'), join(dir, 'labels'));
  writeManifest(dir, { schema: 1, name, classes: pool.classes, splits: { train: [...labelled], val: valIds, test: testIds } });
  return dir;
}

async function fit(name: string, labelled: readonly string[], from?: string): Promise<{ checkpoint: string; map50: number; map50to95: number; onnx: string; seconds: number }> {
  const data = roundData(name, labelled);
  const r = await train({
    data, epochs: Number(v.epochs), imgsz: Number(v.imgsz), width: Number(v.width), batch: 8, lr: 0.006, patience: 100, seed: Number(v.seed),
    augment: { mosaic: 0, scale: 0, flipUD: 0.5 }, ...(from ? { from } : {}), threads: v.threads ? Number(v.threads) : undefined,
    project: join(v.dir!, 'runs'), name, existOk: true, progress: false, logger,
  });
  const onnx = join(r.runDir, 'best.onnx');
  await exportCheckpoint({ checkpoint: r.best, output: onnx, name });
  const test = await evaluate({ model: onnx, data, split: 'test', threads: 1 });
  return { checkpoint: r.best, onnx, map50: test.metrics.map50, map50to95: test.metrics.map50to95, seconds: r.seconds };
}

/** The agent's strategy decides which frames it would keep; among those (and then the rest) the most uncertain come first. */
async function pickUncertain(onnx: string, unlabelled: readonly DatasetItem[], n: number): Promise<{ ids: string[]; fired: number }> {
  const predictor = await OnnxPredictor.load(onnx, 1);
  const ranked: { id: string; fires: boolean; distance: number }[] = [];
  try {
    for await (const r of predictor.predict(unlabelled, { scoreThreshold: 0.05, iouThreshold: 0.6, maxDetections: 100 })) {
      const fires = strategy.evaluate({ camera: 'belt', at: 0, detections: r.detections });
      const distance = Math.min(1, ...r.detections.map((d) => Math.abs(d.score - mid)));
      ranked.push({ id: r.item.id, fires, distance });
    }
  } finally {
    await predictor.close();
  }
  ranked.sort((a, b) => Number(b.fires) - Number(a.fires) || a.distance - b.distance || (a.id < b.id ? -1 : 1));
  return { ids: ranked.slice(0, n).map((r) => r.id), fired: ranked.filter((r) => r.fires).length };
}

function pickRandom(unlabelled: readonly DatasetItem[], n: number, rng: () => number): string[] {
  return shuffle(rng, unlabelled.map((i) => i.id)).slice(0, n);
}

interface Point { labels: number; map50: number; map50to95: number; fired?: number }
const rng = createRng(Number(v.seed) + 1);
const seedSet = pickRandom(unlabelledStart, Number(v.start), rng);
const t0 = Date.now();
const base = await fit('round0', seedSet);
console.error(`round 0: ${seedSet.length} labels, mAP@0.5 ${base.map50.toFixed(3)} (${base.seconds.toFixed(0)} s)`);

const arms = { random: { labelled: [...seedSet], model: base, points: [] as Point[] }, uncertainty: { labelled: [...seedSet], model: base, points: [] as Point[] } };
for (const arm of Object.values(arms)) arm.points.push({ labels: seedSet.length, map50: base.map50, map50to95: base.map50to95 });
for (let round = 1; round <= Number(v.rounds); round++) {
  for (const [name, arm] of Object.entries(arms) as [keyof typeof arms, (typeof arms)['random']][]) {
    const taken = new Set(arm.labelled);
    const unlabelled = unlabelledStart.filter((i) => !taken.has(i.id));
    const pick = name === 'random' ? { ids: pickRandom(unlabelled, perRound, rng), fired: undefined } : await pickUncertain(arm.model.onnx, unlabelled, perRound);
    arm.labelled.push(...pick.ids);
    arm.model = await fit(`${name}-round${round}`, arm.labelled, arm.model.checkpoint);
    arm.points.push({ labels: arm.labelled.length, map50: arm.model.map50, map50to95: arm.model.map50to95, ...(pick.fired !== undefined ? { fired: pick.fired } : {}) });
    console.error(`round ${round} ${name}: ${arm.labelled.length} labels, mAP@0.5 ${arm.model.map50.toFixed(3)}${pick.fired !== undefined ? ` (${pick.fired} of ${unlabelled.length} frames in the band)` : ''}`);
  }
}

// Labels uncertainty needed to reach random's final mAP@0.5 (the issue's target: ≤ 60%).
const finalRandom = arms.random.points.at(-1)!;
// A random arm that learned nothing gives no target to reach.
const reached = finalRandom.map50 > 0 ? arms.uncertainty.points.find((p) => p.map50 >= finalRandom.map50) : undefined;
const share = reached ? reached.labels / finalRandom.labels : undefined;
console.log('labels | random mAP@0.5 | mAP@.5:.95 | uncertainty mAP@0.5 | mAP@.5:.95 | frames in band');
console.log('---|---|---|---|---|---');
arms.random.points.forEach((r, i) => {
  const u = arms.uncertainty.points[i];
  console.log(`${r.labels} | ${r.map50.toFixed(3)} | ${r.map50to95.toFixed(3)} | ${u.map50.toFixed(3)} | ${u.map50to95.toFixed(3)} | ${u.fired ?? '-'}`);
});
console.log(reached
  ? `uncertainty reached random's final mAP@0.5 ${finalRandom.map50.toFixed(3)} with ${reached.labels} labels, ${(share! * 100).toFixed(0)}% of random's ${finalRandom.labels} (target ≤ 60%)`
  : `uncertainty did not reach random's final mAP@0.5 ${finalRandom.map50.toFixed(3)} within ${arms.uncertainty.points.at(-1)!.labels} labels`);
const series = (key: 'map50' | 'map50to95') => Object.entries(arms).map(([name, arm]) => ({ name, points: arm.points.map((p) => [p.labels, p[key]] as [number, number]) }));
const svg = chartGrid([
  { title: 'mAP@0.5 on the test split', series: series('map50'), xLabel: 'labelled frames', yMin: 0 },
  { title: 'mAP@0.5:0.95 on the test split', series: series('map50to95'), xLabel: 'labelled frames', yMin: 0 },
]);
writeFileSync(join(v.dir!, 'active-learning.svg'), svg);
writeFileSync(join(v.dir!, 'active-learning.png'), await svgToPng(svg));
writeFileSync(join(v.dir!, 'results.json'), `${JSON.stringify({ options: v, seconds: (Date.now() - t0) / 1000, random: arms.random.points, uncertainty: arms.uncertainty.points, share }, null, 1)}\n`);
console.error(`plot: ${join(v.dir!, 'active-learning.png')}`);

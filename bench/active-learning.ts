// Benchmark: does uncertainty sampling pay? Rounds of active learning on a labelled pool (the
// synthetic factory set): each round every arm picks --per-round unlabelled frames, "labels" them
// from the ground truth, fine-tunes its model from its last checkpoint for the same number of
// epochs, and scores it on the fixed test split. The arms:
//   random       frames drawn at random;
//   uncertainty  as the agent's uncertainty strategy would keep them (a detection in its score
//                band), most uncertain first (the detection closest to the band's middle);
//   summed       a stronger acquisition: least confidence summed over the frame's detections,
//                Σ min(s, 1 − s), so frames with many unsure objects come first.
// All arms of a seed start from one model trained on the same random seed set. The regime is the
// factory recipe (320 px, 160-px crops around objects, width 0.5) so that the small defects are
// learned at all. Prints a table per seed (and the mean over seeds), the labels each arm needs to
// reach random's final mAP@0.5 (linearly interpolated between rounds) and that as a share of
// random's labels, and writes active-learning.svg/.png and results.json into --dir.
// Target (issue #21): uncertainty reaches random's final mAP with at most 60% of the labels.
// Usage: node --conditions=kestrel-source --import tsx bench/active-learning.ts [--seeds 11,12]
//        [--arms random,uncertainty,summed] [--pool 800] [--pool-seed 11] [--start 20] [--start-epochs 36] [--per-round 20]
//        [--rounds 3] [--epochs 12] [--imgsz 320] [--crop 160] [--width 0.5] [--low 0.3 --high 0.6]
//        [--val 20] [--threads n] [--dir /tmp/kestrel-active-learning]
// Results and the plot are rewritten after every seed, so a run cut short keeps the seeds it finished.
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
    seeds: { type: 'string', default: '11,12' }, arms: { type: 'string', default: 'random,uncertainty,summed' },
    pool: { type: 'string', default: '800' }, 'pool-seed': { type: 'string', default: '11' }, start: { type: 'string', default: '20' },
    'start-epochs': { type: 'string', default: '36' }, 'per-round': { type: 'string', default: '20' }, rounds: { type: 'string', default: '3' }, epochs: { type: 'string', default: '12' },
    imgsz: { type: 'string', default: '320' }, crop: { type: 'string', default: '160' }, width: { type: 'string', default: '0.5' },
    low: { type: 'string', default: '0.3' }, high: { type: 'string', default: '0.6' },
    val: { type: 'string', default: '20' }, threads: { type: 'string' }, dir: { type: 'string', default: '/tmp/kestrel-active-learning' },
  },
});
const ARMS = ['random', 'uncertainty', 'summed'] as const;
type Arm = (typeof ARMS)[number];
const arms = v.arms!.split(',').map((a) => a.trim()) as Arm[];
const unknown = arms.filter((a) => !ARMS.includes(a));
if (unknown.length > 0 || !arms.includes('random')) {
  console.error(`--arms: ${unknown.length > 0 ? `unknown ${unknown.join(', ')}` : 'needs random (the baseline)'}; choose from ${ARMS.join(', ')}`);
  process.exit(2);
}
const seeds = v.seeds!.split(',').map(Number);
if (seeds.some((s) => !Number.isInteger(s))) {
  console.error(`--seeds: integers separated by commas, got ${v.seeds}`);
  process.exit(2);
}
const logger = createLogger('bench');
const perRound = Number(v['per-round']);
// The agent's default band (config/src/schema/sampling.ts: uncertainty.low/high).
const strategy = new UncertaintyStrategy({ low: Number(v.low), high: Number(v.high) });
const mid = (Number(v.low) + Number(v.high)) / 2;
// The agent's detector hands the sampler every detection down to tracker.lowScore (default 0.1).
const AGENT_LOW_SCORE = 0.1;

const poolDir = join(v.dir!, `pool-${v.pool}-${v['pool-seed']}`);
if (!existsSync(join(poolDir, 'dataset.json'))) await synthFactoryDataset(poolDir, { count: Number(v.pool), seed: Number(v['pool-seed']) });
const pool = loadDataset(poolDir);
const unlabelledStart = splitItems(pool, 'train');
// Validation only picks each fit's best epoch; a few frames do for that, and every epoch pays for them.
const valIds = pool.splits.val.slice(0, Number(v.val));
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

interface Fit { checkpoint: string; onnx: string; map50: number; map50to95: number; ap50: Record<string, number>; seconds: number }

async function fit(name: string, labelled: readonly string[], seed: number, epochs: number, from?: string): Promise<Fit> {
  const data = roundData(name, labelled);
  const r = await train({
    data, epochs, imgsz: Number(v.imgsz), cropSize: Number(v.crop), width: Number(v.width), batch: 8, lr: 0.006, patience: 100, seed,
    augment: { mosaic: 0, scale: 0, flipUD: 0.5 }, ...(from ? { from } : {}), threads: v.threads ? Number(v.threads) : undefined,
    project: join(v.dir!, 'runs'), name, existOk: true, progress: false, logger,
  });
  const onnx = join(r.runDir, 'best.onnx');
  await exportCheckpoint({ checkpoint: r.best, output: onnx, name });
  const test = await evaluate({ model: onnx, data, split: 'test', threads: 1 });
  const ap50 = Object.fromEntries(test.metrics.perClass.filter((c) => c.truths > 0).map((c) => [c.label ?? String(c.classId), c.ap50]));
  return { checkpoint: r.best, onnx, map50: test.metrics.map50, map50to95: test.metrics.map50to95, ap50, seconds: r.seconds };
}

/** Ranks the unlabelled frames by what the arm's acquisition makes of the current model's detections. */
async function pickUncertain(arm: 'uncertainty' | 'summed', onnx: string, unlabelled: readonly DatasetItem[], n: number): Promise<{ ids: string[]; fired: number }> {
  const predictor = await OnnxPredictor.load(onnx, 1);
  const ranked: { id: string; fires: boolean; key: number }[] = [];
  try {
    for await (const r of predictor.predict(unlabelled, { scoreThreshold: AGENT_LOW_SCORE, iouThreshold: 0.6, maxDetections: 100 })) {
      const fires = strategy.evaluate({ camera: 'belt', at: 0, detections: r.detections });
      // uncertainty: the strategy decides which frames the agent keeps; among those (then the rest)
      // the one whose most uncertain detection is closest to the band's middle comes first.
      // summed: Σ min(s, 1 − s), descending (negated so that smaller sorts first for both).
      const key = arm === 'uncertainty'
        ? Math.min(1, ...r.detections.map((d) => Math.abs(d.score - mid)))
        : -r.detections.reduce((s, d) => s + Math.min(d.score, 1 - d.score), 0);
      ranked.push({ id: r.item.id, fires: arm === 'uncertainty' ? fires : true, key });
    }
  } finally {
    await predictor.close();
  }
  ranked.sort((a, b) => Number(b.fires) - Number(a.fires) || a.key - b.key || (a.id < b.id ? -1 : 1));
  return { ids: ranked.slice(0, n).map((r) => r.id), fired: arm === 'uncertainty' ? ranked.filter((r) => r.fires).length : ranked.length };
}

function pickRandom(unlabelled: readonly DatasetItem[], n: number, rng: () => number): string[] {
  return shuffle(rng, unlabelled.map((i) => i.id)).slice(0, n);
}

interface Point { labels: number; map50: number; map50to95: number; fired?: number }
type Curves = Record<Arm, Point[]>;

/** Labels an arm needs to reach `target` mAP@0.5, linearly interpolated between rounds; undefined if it never does. */
function labelsToReach(points: readonly Point[], target: number): number | undefined {
  if (points[0].map50 >= target) return points[0].labels;
  for (let i = 1; i < points.length; i++) {
    const [a, b] = [points[i - 1], points[i]];
    if (b.map50 >= target) return a.labels + ((target - a.map50) / (b.map50 - a.map50)) * (b.labels - a.labels);
  }
  return undefined;
}

function report(title: string, curves: Curves): Record<string, { labels?: number; share?: number }> {
  console.log(`\n${title}\n`);
  console.log(`labels | ${arms.map((a) => `${a} mAP@0.5 | mAP@.5:.95`).join(' | ')}`);
  console.log(`---|${arms.map(() => '---|---').join('|')}`);
  curves.random.forEach((r, i) => console.log(`${r.labels} | ${arms.map((a) => `${curves[a][i].map50.toFixed(3)} | ${curves[a][i].map50to95.toFixed(3)}`).join(' | ')}`));
  const final = curves.random.at(-1)!;
  const out: Record<string, { labels?: number; share?: number }> = {};
  for (const a of arms.filter((x) => x !== 'random')) {
    // A random arm that learned nothing gives no target to reach.
    const labels = final.map50 > 0 ? labelsToReach(curves[a], final.map50) : undefined;
    out[a] = labels === undefined ? {} : { labels, share: labels / final.labels };
    console.log(labels === undefined
      ? `${a} did not reach random's final mAP@0.5 ${final.map50.toFixed(3)} within ${curves[a].at(-1)!.labels} labels`
      : `${a} reached random's final mAP@0.5 ${final.map50.toFixed(3)} at ${labels.toFixed(1)} labels (interpolated), ${((labels / final.labels) * 100).toFixed(0)}% of random's ${final.labels} (target ≤ 60%)`);
  }
  return out;
}

const t0 = Date.now();
const runs: { seed: number; curves: Curves; finalAp50: Record<string, Record<string, number>>; reach: ReturnType<typeof report> }[] = [];
for (const seed of seeds) {
  const rng = createRng(seed + 1);
  const seedSet = pickRandom(unlabelledStart, Number(v.start), rng);
  // The seed model trains longer: a model that has seen 20 frames for a few steps ranks frames by noise.
  const base = await fit(`s${seed}-round0`, seedSet, seed, Number(v['start-epochs']));
  console.error(`seed ${seed} round 0: ${seedSet.length} labels, mAP@0.5 ${base.map50.toFixed(3)} (${base.seconds.toFixed(0)} s) AP50 ${JSON.stringify(base.ap50)}`);
  const state = Object.fromEntries(arms.map((a) => [a, { labelled: [...seedSet], model: base, points: [{ labels: seedSet.length, map50: base.map50, map50to95: base.map50to95 }] as Point[] }]));
  for (let round = 1; round <= Number(v.rounds); round++) {
    for (const a of arms) {
      const arm = state[a];
      const taken = new Set(arm.labelled);
      const unlabelled = unlabelledStart.filter((i) => !taken.has(i.id));
      const pick = a === 'random' ? { ids: pickRandom(unlabelled, perRound, rng), fired: undefined } : await pickUncertain(a, arm.model.onnx, unlabelled, perRound);
      arm.labelled.push(...pick.ids);
      arm.model = await fit(`s${seed}-${a}-round${round}`, arm.labelled, seed, Number(v.epochs), arm.model.checkpoint);
      arm.points.push({ labels: arm.labelled.length, map50: arm.model.map50, map50to95: arm.model.map50to95, ...(a === 'uncertainty' ? { fired: pick.fired } : {}) });
      console.error(`seed ${seed} round ${round} ${a}: ${arm.labelled.length} labels, mAP@0.5 ${arm.model.map50.toFixed(3)}${a === 'uncertainty' ? ` (${pick.fired} of ${unlabelled.length} frames in the band)` : ''} [${((Date.now() - t0) / 60000).toFixed(1)} min]`);
    }
  }
  const curves = Object.fromEntries(arms.map((a) => [a, state[a].points])) as Curves;
  const reach = report(`seed ${seed}`, curves);
  if (curves.uncertainty) console.log(`uncertainty: frames in the band each round: ${curves.uncertainty.slice(1).map((p) => p.fired).join(', ')}`);
  const finalAp50 = Object.fromEntries(arms.map((a) => [a, state[a].model.ap50]));
  console.log(`final test AP@0.5 per class: ${arms.map((a) => `${a} ${Object.entries(finalAp50[a]).map(([k, x]) => `${k} ${x.toFixed(2)}`).join(', ')}`).join('; ')}`);
  runs.push({ seed, curves, finalAp50, reach });
  await summarise();
}

/** The mean curve over the seeds done so far (all seeds share the label counts of every round), its table, plot and results.json. */
async function summarise(): Promise<void> {
  const mean = Object.fromEntries(arms.map((a) => [a, runs[0].curves[a].map((p, i) => ({
    labels: p.labels,
    map50: runs.reduce((s, r) => s + r.curves[a][i].map50, 0) / runs.length,
    map50to95: runs.reduce((s, r) => s + r.curves[a][i].map50to95, 0) / runs.length,
  }))])) as Curves;
  const meanReach = runs.length > 1 ? report(`mean over seeds ${runs.map((r) => r.seed).join(', ')}`, mean) : runs[0].reach;
  const suffix = runs.length > 1 ? ` (mean of ${runs.length} seeds)` : '';
  const series = (key: 'map50' | 'map50to95') => arms.map((a) => ({ name: a, points: mean[a].map((p) => [p.labels, p[key]] as [number, number]) }));
  const svg = chartGrid([
    { title: `test mAP@0.5${suffix}`, series: series('map50'), xLabel: 'labelled frames', yMin: 0 },
    { title: `test mAP@0.5:0.95${suffix}`, series: series('map50to95'), xLabel: 'labelled frames', yMin: 0 },
  ]);
  writeFileSync(join(v.dir!, 'active-learning.svg'), svg);
  writeFileSync(join(v.dir!, 'active-learning.png'), await svgToPng(svg));
  const seconds = (Date.now() - t0) / 1000;
  writeFileSync(join(v.dir!, 'results.json'), `${JSON.stringify({ options: v, seconds, runs, mean, meanReach }, null, 1)}\n`);
  console.error(`${(seconds / 60).toFixed(1)} min; plot: ${join(v.dir!, 'active-learning.png')}`);
}

import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  addFrame, areaBin, compareHistograms, countBin, driftBaselineOf, emptyHistograms, jsDistance, makeBaseline, metadataToProps, parseDriftBaseline,
  parseMetadata, psi, scoreBin, withDriftBaseline, AREA_BINS, COUNT_EDGES, SCORE_BINS, type KestrelMetadata,
} from '@kestrel/core';

test('PSI of a distribution with itself is 0, and grows with the shift', () => {
  const base = [10, 20, 40, 20, 10];
  assert.equal(psi(base, base), 0);
  assert.ok(Math.abs(psi(base, base.map((n) => n * 7))) < 1e-12, 'PSI compares proportions, not counts');
  const small = psi(base, [12, 22, 38, 18, 10]);
  const large = psi(base, [40, 30, 20, 8, 2]);
  assert.ok(small > 0 && small < 0.1, `a small change is below 0.1 (${small})`);
  assert.ok(large > 0.25, `a large shift passes 0.25 (${large})`);
});

test('PSI matches the textbook value on a known pair', () => {
  // expected 50/50, actual 25/75: (0.25-0.5)ln(0.5) + (0.75-0.5)ln(1.5) = 0.25·ln 3
  assert.ok(Math.abs(psi([50, 50], [25, 75]) - 0.25 * Math.log(3)) < 1e-9);
});

test('PSI stays finite when a bin is empty on one side (epsilon smoothing)', () => {
  const v = psi([100, 0, 0], [0, 0, 100]);
  assert.ok(Number.isFinite(v) && v > 5, `finite and large: ${v}`);
  assert.ok(psi([100, 0], [0, 100], 1e-2) < psi([100, 0], [0, 100], 1e-6), 'a smaller epsilon weighs empty bins more');
});

test('Jensen–Shannon distance is symmetric and bounded by 1', () => {
  const p = [5, 10, 60, 25];
  const q = [30, 30, 20, 20];
  assert.equal(jsDistance(p, p), 0);
  assert.ok(Math.abs(jsDistance(p, q) - jsDistance(q, p)) < 1e-12);
  assert.ok(Math.abs(jsDistance([1, 0], [0, 1]) - 1) < 1e-12, 'disjoint distributions are at distance 1');
  // 50/50 vs 100/0: JSD = 1 - 0.75·log2(4/3)·... computed by hand: 0.3112781 bits, distance its root.
  assert.ok(Math.abs(jsDistance([1, 1], [1, 0]) - Math.sqrt(0.31127812445913283)) < 1e-9);
});

test('distances refuse histograms of different bins', () => {
  assert.throws(() => psi([1, 2], [1, 2, 3]), /same number of bins/);
  assert.throws(() => jsDistance([], []), /same number of bins/);
});

test('bins: confidence over [minScore, 1], area log-spaced, counts grouped', () => {
  assert.equal(scoreBin(0.5, 0.5), 0);
  assert.equal(scoreBin(0.999, 0.5), SCORE_BINS - 1);
  assert.equal(scoreBin(1, 0.5), SCORE_BINS - 1);
  assert.equal(scoreBin(0.76, 0.5), 5);
  assert.equal(areaBin(0), 0);
  assert.equal(areaBin(1e-6), 0);
  assert.equal(areaBin(1), AREA_BINS - 1);
  assert.equal(areaBin(1e-2), 5, '10^-2 is 2 decades = 5 steps of 0.4 above 10^-4');
  assert.deepEqual([0, 1, 2, 3, 4, 5, 6, 8, 9, 12, 13, 100].map(countBin), [0, 1, 2, 3, 4, 4, 5, 5, 6, 6, 7, 7]);
});

test('addFrame counts only reported detections, per class, and frames by how many they hold', () => {
  const h = emptyHistograms(0.5);
  addFrame(h, [
    { label: 'person', score: 0.9, box: [0, 0, 10, 10] },
    { label: 'person', score: 0.3, box: [0, 0, 10, 10] },
    { label: 'car', score: 0.55, box: [0, 0, 100, 100] },
  ], 100 * 100);
  addFrame(h, [], 100 * 100);
  assert.equal(h.frames, 2);
  assert.deepEqual(h.count.slice(0, 3), [1, 0, 1]);
  assert.equal(h.classes.person.score.reduce((a, b) => a + b), 1);
  assert.equal(h.classes.person.score[8], 1);
  assert.equal(h.classes.person.area[areaBin(0.01)], 1);
  assert.equal(h.classes.car.area[AREA_BINS - 1], 1);
  assert.equal(h.count.length, COUNT_EDGES.length);
});

test('the class table is bounded', () => {
  const h = emptyHistograms(0);
  addFrame(h, Array.from({ length: 10 }, (_, i) => ({ label: `c${i}`, score: 0.5, box: [0, 0, 1, 1] })), 100, 4);
  assert.equal(Object.keys(h.classes).length, 4);
});

/** Frames with `n` detections each of `label`, scores drawn around `mean`. */
function frames(minScore: number, count: number, n: number, mean: number, boxSide = 20) {
  const h = emptyHistograms(minScore);
  for (let f = 0; f < count; f++) {
    const dets = Array.from({ length: n }, (_, i) => ({ label: 'person', score: Math.min(0.999, Math.max(minScore, mean + (((f * 7 + i * 13) % 21) - 10) / 100)), box: [0, 0, boxSide, boxSide] }));
    addFrame(h, dets, 100 * 100);
  }
  return h;
}

test('compareHistograms: the same scene is stable, a shifted one drifts, and thin figures are left out', () => {
  const baseline = frames(0.4, 300, 2, 0.8);
  const same = compareHistograms(baseline, frames(0.4, 300, 2, 0.8), 200);
  assert.ok(same.psi < 0.01, `same scene: ${same.psi}`);
  assert.deepEqual(same.figures.map((f) => f.histogram).sort(), ['area', 'count', 'score']);
  assert.equal(same.perFrame, 2);

  const lowConfidence = compareHistograms(baseline, frames(0.4, 300, 2, 0.5), 200);
  assert.ok(lowConfidence.psi > 0.25, `scores fell: ${lowConfidence.psi}`);
  assert.equal(lowConfidence.worst?.histogram, 'score');
  assert.equal(lowConfidence.worst?.label, 'person');
  assert.ok(lowConfidence.js > 0.3 && lowConfidence.js <= 1);

  const blind = compareHistograms(baseline, frames(0.4, 300, 0, 0.8), 200);
  assert.equal(blind.worst?.histogram, 'count', 'a blind model shows in the per-frame count');
  assert.ok(blind.psi > 1);
  assert.equal(blind.perFrame, 0);

  const thin = compareHistograms(baseline, frames(0.4, 50, 1, 0.5), 200);
  assert.deepEqual(thin.figures, []);
  assert.equal(thin.psi, 0);
});

test('a baseline travels in model metadata and comes back the same', () => {
  const baseline = makeBaseline(frames(0.35, 10, 1, 0.7), 'eval data val', 1_700_000_000_000);
  const meta: KestrelMetadata = { decoder: 'kestrel', labels: ['person'], input: { width: 64, height: 64, layout: 'NCHW', colour: 'RGB', mean: [0, 0, 0], std: [255, 255, 255], letterbox: true } };
  const props = metadataToProps(withDriftBaseline(meta, baseline));
  assert.ok(props['kestrel.drift_baseline']);
  const back = parseMetadata(props);
  assert.deepEqual(driftBaselineOf(back), baseline);
  assert.equal(driftBaselineOf(meta), undefined);
});

test('a damaged baseline is an error naming where and which field', () => {
  assert.throws(() => parseDriftBaseline('{', 'm.onnx'), /m\.onnx: the drift baseline is not valid JSON/);
  const bad = { ...makeBaseline(emptyHistograms(0.3), 'x', 1), count: [1, 2] };
  assert.throws(() => parseDriftBaseline(JSON.stringify(bad), 'm.onnx'), /m\.onnx: drift baseline count: /);
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Histogram } from '@kestrel/quantize/calib/histogram';
import { MinMaxCalibrator, PercentileCalibrator, EntropyCalibrator, entropyThresholdBins, createCalibrator } from '@kestrel/quantize/calib/calibrators';
import { rng } from '../support/graphs.js';

function gaussian(n: number, sigma: number, seed: number): Float32Array {
  const r = rng(seed);
  return Float32Array.from({ length: n }, () => sigma * Math.sqrt(-2 * Math.log(r() + 1e-12)) * Math.cos(2 * Math.PI * r()));
}

test('histogram memory is fixed: wider batches double the range and merge bins exactly', () => {
  const h = new Histogram(8);
  h.add(Float32Array.from([-1, -0.5, 0, 0.25, 0.9]));
  assert.equal(h.limit, 1);
  // Bins of width 0.25 over [-1, 1]: -1 → 0, -0.5 → 2, 0 → 4, 0.25 → 5, 0.9 → 7.
  assert.deepEqual([...h.counts], [1, 0, 1, 0, 1, 1, 0, 1]);
  h.add(Float32Array.from([3.5]));
  // Range doubles twice to [-4, 4] (bins of width 1); old counts merge pairwise, 3.5 → bin 7.
  assert.equal(h.limit, 4);
  assert.deepEqual([...h.counts], [0, 0, 0, 2, 3, 0, 0, 1]);
  assert.equal(h.counts.length, 8);
  assert.equal(h.total, 6);
  assert.equal(h.counts.reduce((a, b) => a + b, 0), 6);
  assert.deepEqual([...h.absoluteCounts()], [5, 0, 0, 1]);
});

test('an all-zero first batch is kept until a range exists', () => {
  const h = new Histogram(4);
  h.add(new Float32Array(3));
  h.add(Float32Array.from([2]));
  assert.equal(h.total, 4);
  assert.equal(h.counts.reduce((a, b) => a + b, 0), 4);
});

test('NaN in an activation is an error naming the tensor', () => {
  assert.throws(() => createCalibrator('percentile').observe('conv3', Float32Array.from([1, NaN])), /conv3.*NaN/);
  assert.throws(() => new MinMaxCalibrator().observe('conv4', Float32Array.from([Infinity])), /conv4/);
});

test('minmax keeps the extremes over all batches', () => {
  const c = new MinMaxCalibrator();
  c.observe('t', Float32Array.from([0.5, 2]));
  c.observe('t', Float32Array.from([-1, 1]));
  assert.deepEqual(c.ranges().get('t'), { min: -1, max: 2 });
});

test('percentile 99.999 ignores a single extreme outlier that minmax would follow', () => {
  const values = gaussian(400_000, 1, 7);
  values[123] = 1000;
  const p = new PercentileCalibrator();
  const m = new MinMaxCalibrator();
  p.observe('t', values);
  m.observe('t', values);
  const pr = p.ranges(false).get('t')!;
  const sr = p.ranges(true).get('t')!;
  assert.equal(m.ranges().get('t')!.max, 1000);
  // 99.999% of a unit Gaussian lies within about ±4.4σ; the bins are 1000/2048 ≈ 0.5 wide.
  assert.ok(pr.max > 3 && pr.max < 6, `max ${pr.max}`);
  assert.ok(pr.min < -3 && pr.min > -6, `min ${pr.min}`);
  assert.ok(sr.max > 3 && sr.max < 6 && sr.min === -sr.max, `symmetric ${JSON.stringify(sr)}`);
});

test('entropy clips a Gaussian between 2σ and 6σ, and keeps a uniform range whole', () => {
  const e = new EntropyCalibrator();
  e.observe('g', gaussian(200_000, 1, 3));
  const g = e.ranges(true).get('g')!;
  assert.ok(g.max > 2 && g.max < 6, `gaussian threshold ${g.max}`);
  const r = rng(5);
  e.observe('u', Float32Array.from({ length: 100_000 }, () => r() * 2 - 1));
  const u = e.ranges(true).get('u')!;
  assert.ok(u.max > 0.9, `uniform threshold ${u.max}`);
});

test('entropy ignores the spike of exact zeros a ReLU leaves', () => {
  // Half zeros, half |Gaussian|: the zero bin must not drag the threshold down to nothing.
  const g = gaussian(100_000, 1, 9).map(Math.abs);
  const values = new Float32Array(200_000);
  values.set(g, 100_000);
  const e = new EntropyCalibrator();
  e.observe('relu', values);
  const r = e.ranges(false).get('relu')!;
  assert.equal(r.min, 0);
  assert.ok(r.max > 2, `relu threshold ${r.max}`);
  // And on a histogram too small to search, everything is kept.
  assert.equal(entropyThresholdBins(new Float64Array(64).fill(1), 128), 64);
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { computeQuantParams, roundHalfToEven, quantizeWeights, quantizeBias, quantizeValue, representableRange, quantLimits } from '@kestrel/quantize/math/qparams';

test('round half to even, as QuantizeLinear and numpy do', () => {
  assert.deepEqual([0.5, 1.5, 2.5, 3.5, -0.5, -1.5, -2.5, 2.4999, 2.5001].map(roundHalfToEven), [0, 2, 2, 4, 0, -2, -2, 2, 3]);
});

test('the quantized range always contains 0, so zero padding is exact', () => {
  // [2, 10] is widened to [0, 10]: zero point 0, scale 10/255.
  const pos = computeQuantParams({ min: 2, max: 10 }, 'uint8', false);
  assert.equal(pos.zeroPoint, 0);
  assert.equal(pos.scale, Math.fround(10 / 255));
  // [-10, -2] is widened to [-10, 0]: zero point at the top of uint8.
  const neg = computeQuantParams({ min: -10, max: -2 }, 'uint8', false);
  assert.equal(neg.zeroPoint, 255);
  for (const p of [pos, neg]) assert.equal(quantizeValue(0, p) - p.zeroPoint, 0);
});

test('the zero point rounds half to even', () => {
  // [-2.5, 252.5] spans 255 so scale = 1 and the zero point is round(2.5) = 2, not 3.
  const p = computeQuantParams({ min: -2.5, max: 252.5 }, 'uint8', false);
  assert.equal(p.scale, 1);
  assert.equal(p.zeroPoint, 2);
  // round(3.5) = 4.
  assert.equal(computeQuantParams({ min: -3.5, max: 251.5 }, 'uint8', false).zeroPoint, 4);
});

test('symmetric int8 has zero point 0 and uses -127..127', () => {
  const p = computeQuantParams({ min: -3, max: 5 }, 'int8', true);
  assert.equal(p.zeroPoint, 0);
  assert.equal(p.scale, Math.fround(10 / 254));
  assert.deepEqual(quantLimits('int8', true), { qmin: -127, qmax: 127 });
  assert.equal(quantizeValue(5, p), 127);
  assert.equal(quantizeValue(-5, p), -127);
  // Asymmetric int8 keeps the full -128..127 and a non-zero zero point.
  assert.notEqual(computeQuantParams({ min: -1, max: 5 }, 'int8', false).zeroPoint, 0);
});

test('quantizing saturates at the type bounds and a constant-zero tensor gets scale 1', () => {
  const p = computeQuantParams({ min: 0, max: 1 }, 'uint8', false);
  assert.equal(quantizeValue(7, p), 255);
  assert.equal(quantizeValue(-7, p), 0);
  assert.deepEqual(representableRange(p), { min: 0, max: 255 * p.scale });
  assert.deepEqual(computeQuantParams({ min: 0, max: 0 }, 'uint8', false), { scale: 1, zeroPoint: 0, type: 'uint8' });
  assert.throws(() => computeQuantParams({ min: 0, max: Infinity }, 'uint8', false), /non-finite/);
});

test('weights: per-channel symmetric int8 along axis 0, one scale per output channel', () => {
  // Two output channels of 1x1x2: channel 0 spans ±2, channel 1 spans ±0.5.
  const w = Float32Array.from([2, -1, 0.25, -0.5]);
  const q = quantizeWeights(w, [2, 1, 1, 2], 0);
  assert.deepEqual([...q.scales], [Math.fround(2 / 127), Math.fround(0.5 / 127)]);
  assert.deepEqual([...q.data], [127, roundHalfToEven(-1 / Math.fround(2 / 127)), roundHalfToEven(0.25 / Math.fround(0.5 / 127)), -127]);
  // Per tensor: one scale from the largest magnitude.
  const t = quantizeWeights(w, [2, 1, 1, 2], null);
  assert.deepEqual([...t.scales], [Math.fround(2 / 127)]);
  assert.equal(t.data[3], roundHalfToEven(-0.5 / Math.fround(2 / 127)));
});

test('reduce range keeps weights within ±64 so VPMADDUBSW pair sums cannot saturate', () => {
  const q = quantizeWeights(Float32Array.from([1, -1, 0.5]), [3], null, true);
  assert.equal(Math.max(...q.data), 64);
  assert.equal(Math.min(...q.data), -64);
  assert.ok(2 * 255 * 64 <= 32767);
});

test('bias: int32 with scale = input scale × weight scale per channel', () => {
  const b = quantizeBias(Float32Array.from([1, -0.3]), 0.02, Float32Array.from([0.01, 0.5]));
  assert.deepEqual([...b.scales], [Math.fround(0.02 * 0.01), Math.fround(0.02 * 0.5)]);
  assert.deepEqual([...b.data], [roundHalfToEven(1 / Math.fround(0.0002)), roundHalfToEven(-0.3 / Math.fround(0.01))]);
  // A dead channel (weight scale 0) must not divide by zero.
  assert.deepEqual([...quantizeBias(Float32Array.from([0.5]), 0.1, Float32Array.from([0])).scales], [1]);
});

// A plain stack of convolutions: the case where INT8 placement is easiest to get right and
// cheapest to get wrong (ARCHITECTURE.md: Q/DQ in the wrong places made INT8 slower than FP32).
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { readMetadata } from '@kestrel/core/model/metadata';
import { metadataProps } from '@kestrel/core/model/metadata';
import { benchmarkModels } from '@kestrel/quantize';
import { convStack, imageLikeFeeds, quantizeInTemp, runModel, maxAbsDiff, maxAbs, nodesOf } from './support/graphs.js';

const dirs: string[] = [];
after(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

test('every Conv of a ReLU conv stack fuses into QLinearConv, ReLUs fold, and the model shrinks to ~1/4', async () => {
  const model = convStack({ layers: 10, channels: 32, size: 28 });
  const feeds = imageLikeFeeds(4, [1, 32, 28, 28], 21);
  const q = await quantizeInTemp(model, feeds);
  dirs.push(q.dir);
  const f = q.result.fusion;
  assert.equal(f.quantizedConvs, 10);
  assert.ok(f.integerConvs / f.quantizedConvs >= 0.95, `fused ${f.integerConvs}/${f.quantizedConvs}`);
  assert.equal(f.floatConvs, 0);
  assert.equal(q.result.summary.foldedClamps.length, 9);
  assert.equal(nodesOf(q.model, 'Relu').length, 0);
  // Weights dominate the file: int8 is a quarter of float32, plus scales.
  assert.ok(q.result.sizes.ratio > 0.24 && q.result.sizes.ratio < 0.3, `size ratio ${q.result.sizes.ratio}`);
  // No Kestrel metadata on this model: the quantization record is still written.
  const props = metadataProps(q.model);
  const info = JSON.parse(props['kestrel.quantization']);
  assert.deepEqual(info, q.result.quantization);
  assert.equal(info.calibrationCount, 4);
  assert.throws(() => readMetadata(q.model), /lacks Kestrel metadata/);
  for (const feed of feeds) {
    const a = await runModel(q.fp32, feed);
    const b = await runModel(q.int8, feed);
    assert.ok(maxAbsDiff(a.output, b.output) <= 0.1 * maxAbs(a.output), `${maxAbsDiff(a.output, b.output)} vs range ${maxAbs(a.output)}`);
  }
});

test('a LeakyReLU conv stack fuses too, with one QLinearLeakyRelu per activation', async () => {
  const q = await quantizeInTemp(convStack({ layers: 6, channels: 16, size: 16, activation: 'leaky' }), imageLikeFeeds(3, [1, 16, 16, 16], 5));
  dirs.push(q.dir);
  assert.equal(q.result.fusion.integerConvs, 6);
  assert.equal(q.result.fusion.ops.QLinearLeakyRelu, 5);
  assert.equal(q.result.fusion.ratio, 1);
});

test('benchmarkModels times each model in its own process, alternating, and reports medians and the speedup', async () => {
  const q = await quantizeInTemp(convStack({ layers: 3, channels: 16, size: 16 }), imageLikeFeeds(2, [1, 16, 16, 16], 8));
  dirs.push(q.dir);
  const runs: number[] = [];
  const r = await benchmarkModels(
    [
      { label: 'fp32', path: q.fp32 },
      { label: 'int8', path: q.int8 },
    ],
    { threads: 1, rounds: 2, iterations: 3, warmup: 1, onRun: (done) => runs.push(done) },
  );
  assert.deepEqual(runs, [1, 2, 3, 4]);
  assert.equal(r.models.length, 2);
  for (const m of r.models) {
    assert.equal(m.roundMediansMs.length, 2);
    assert.ok(m.medianMs > 0);
  }
  assert.ok(r.speedup! > 0);
  assert.equal(typeof r.noisy, 'boolean');
  await assert.rejects(benchmarkModels([{ label: 'x', path: `${q.dir}/missing.onnx` }], { rounds: 1, iterations: 1 }), (e: Error & { code?: string }) => e.code === 'E_BENCH');
});

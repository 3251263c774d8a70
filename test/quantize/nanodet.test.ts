// End to end on the real default detector: NanoDet-416 quantized on crops and mirrors of the
// test photographs, judged on the untouched photographs and their mirror images.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { readModel } from '@kestrel/core/onnx/io';
import { readMetadata } from '@kestrel/core/model/metadata';
import { BUNDLED_MODEL_PATH } from '@kestrel/core/model/bundled';
import { quantizeModel, type QuantizeResult } from '@kestrel/quantize';
import { makePhotoSets, type PhotoSets } from './support/photos.js';

let photos: PhotoSets;
let result: QuantizeResult;
const progress: string[] = [];

before(async () => {
  photos = await makePhotoSets();
  result = await quantizeModel(BUNDLED_MODEL_PATH, {
    output: join(photos.dir, 'nanodet-416-int8.onnx'),
    calib: photos.calibDir,
    heldOutImages: photos.heldOut,
    benchmark: false,
    threads: 1,
    onProgress: (p) => progress.push(`${p.phase}:${p.done}/${p.total}`),
  });
});
after(() => rmSync(photos.dir, { recursive: true, force: true }));

test('INT8 NanoDet finds what FP32 finds on held-out photographs: mAP@0.5 ≥ 0.95', () => {
  const a = result.agreement!;
  assert.equal(a.images, 8);
  // Person, cat, table, cup, motorcycle: the FP32 model must have found something to compare.
  assert.ok(a.fp32Detections >= 6, `FP32 found ${a.fp32Detections}`);
  assert.ok(a.map50! >= 0.95, `agreement mAP@0.5 ${a.map50}`);
  assert.ok(a.recallAtReference! >= 0.75, `recall at 0.35: ${a.recallAtReference}`);
  // Scores are probabilities: INT8 moves them by a few hundredths on average, not tenths.
  for (const o of a.outputs.filter((x) => x.name.startsWith('scores'))) assert.ok(o.meanAbs < 0.01, `${o.name} mean |diff| ${o.meanAbs}`);
});

test('ONNX Runtime fuses ≥ 95% of the quantized Convs; only the stem stays float; the tail needs no Transpose', () => {
  const f = result.fusion;
  assert.equal(f.quantizedConvs, 33);
  assert.ok(f.integerConvs / f.quantizedConvs >= 0.95, `fused ${f.integerConvs}/${f.quantizedConvs}`);
  assert.deepEqual(result.excluded.filter((e) => e.reason !== 'tail').map((e) => e.reason), ['stem']);
  assert.equal(f.floatConvs, 1);
  // The placement rewrites the quantizer applies: pool before LeakyRelu, channels-last heads.
  assert.deepEqual(result.rewrites.map((r) => [r.name, r.nodes.length]), [
    ['pool-before-activation', 1],
    ['channels-last-heads', 3],
  ]);
  // One Transpose is left: the uint8 stem output into the NHWC integer path.
  assert.ok((f.ops.Transpose ?? 0) <= 1, `Transposes: ${f.ops.Transpose}`);
  assert.equal(f.ops.Resize, 4, 'bilinear Resize stays float');
});

test('the INT8 model keeps the kestrel.* metadata and records how it was quantized', async () => {
  const model = await readModel(result.output);
  const meta = readMetadata(model);
  const original = readMetadata(await readModel(BUNDLED_MODEL_PATH));
  assert.deepEqual({ ...meta, quantization: undefined }, { ...original, quantization: undefined });
  assert.deepEqual(meta.quantization, {
    method: 'percentile',
    profile: 'ort-cpu',
    calibrationCount: 16,
    perChannel: true,
    excluded: ['PartitionedCall/convolution#Conv'],
    activations: 'uint8',
    symmetricActivations: false,
    weights: 'int8',
    weightBits: 8,
  });
  assert.ok(result.sizes.ratio > 0.24 && result.sizes.ratio < 0.28, `size ratio ${result.sizes.ratio}`);
  assert.equal(progress.filter((p) => p.startsWith('calibrate:')).at(-1), 'calibrate:16/16');
  assert.equal(progress.filter((p) => p.startsWith('agreement:')).at(-1), 'agreement:8/8');
});

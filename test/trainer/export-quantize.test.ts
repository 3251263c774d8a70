// A Kestrel export goes through `kestrel quantize` (the quantize part's engine): INT8 QDQ that
// ONNX Runtime fuses into integer convolutions, with the kestrel metadata kept.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { quantizeModel } from '@kestrel/quantize';
import { readModel } from '@kestrel/core/onnx/io';
import { readMetadata } from '@kestrel/core/model/metadata';
import { selectBackend } from '@kestrel/trainer/backend/select';
import { buildDetector } from '@kestrel/trainer/model/build';
import { resolveDetectorConfig } from '@kestrel/trainer/model/config';
import { saveCheckpoint } from '@kestrel/trainer/model/checkpoint';
import { exportCheckpoint } from '@kestrel/trainer/export/export-onnx';
import { synthFactoryDataset, FACTORY_CLASSES } from '@kestrel/trainer/data/synth/factory';
import { tempDir } from './support/tmp.js';

test('the exported detector quantizes to INT8 and every quantized Conv fuses', async () => {
  await selectBackend();
  const dir = tempDir();
  await synthFactoryDataset(join(dir, 'calib'), { count: 8, seed: 9, size: 128 });
  const model = buildDetector(resolveDetectorConfig({ labels: [...FACTORY_CLASSES], inputHeight: 128, inputWidth: 128, width: 0.25 }), 4);
  await saveCheckpoint(join(dir, 'ckpt'), model, { epoch: 0, step: 0, bestFitness: 0, bestEpoch: 0 });
  model.net.dispose();
  await exportCheckpoint({ checkpoint: join(dir, 'ckpt'), output: join(dir, 'fp32.onnx') });
  const q = await quantizeModel(join(dir, 'fp32.onnx'), { output: join(dir, 'int8.onnx'), calib: join(dir, 'calib', 'images'), maxCalibrationImages: 8, benchmark: false, agreement: false });
  assert.ok(q.fusion.quantizedConvs >= 20, `${q.fusion.quantizedConvs} convs quantized`);
  assert.equal(q.fusion.integerConvs, q.fusion.quantizedConvs, 'ONNX Runtime runs every quantized Conv as an integer conv');
  assert.ok(q.sizes.ratio < 0.5);
  const meta = readMetadata(await readModel(join(dir, 'int8.onnx')));
  assert.equal(meta.decoder, 'kestrel');
  assert.deepEqual(meta.labels, [...FACTORY_CLASSES]);
  assert.ok(meta.quantization, 'kestrel.quantization written');
});

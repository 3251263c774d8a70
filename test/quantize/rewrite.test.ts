// QDQ rewriting on small hand-built graphs, checked by running them in ONNX Runtime: the INT8
// model must fuse as planned and stay within quantization error of the FP32 one.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { decodeModel, encodeModel, type ModelProto } from '@kestrel/core/onnx/io';
import { attr, nodeProto } from '@kestrel/core/onnx/build';
import { tensorToFloat32, tensorToNumbers, tensorDims, int64Tensor, floatTensor } from '@kestrel/core/onnx/tensors';
import { poolBeforeActivation, channelsLastHeads } from '@kestrel/quantize/rewrite/placement';
import { floatValueInfo, handBuiltModel, smallModel, conv, node, constant, imageLikeFeeds, runModel, maxAbsDiff, maxAbs, quantizeInTemp, nodesOf, rng, randomArray, type QuantizedFixture } from './support/graphs.js';

const dirs: string[] = [];
after(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

async function quantize(model: ModelProto, options: Parameters<typeof quantizeInTemp>[2] = {}, channels = 8, size = 16): Promise<QuantizedFixture & { feeds: ReturnType<typeof imageLikeFeeds> }> {
  const feeds = imageLikeFeeds(4, [1, channels, size, size], 11);
  const q = await quantizeInTemp(model, feeds, options);
  dirs.push(q.dir);
  return { ...q, feeds };
}

/** Scale and zero point of the QuantizeLinear that quantizes `tensor`. */
function qParamsOf(model: ModelProto, tensor: string): { scale: number; zeroPoint: number } {
  const q = nodesOf(model, 'QuantizeLinear').find((n) => n.input![0] === tensor);
  assert.ok(q, `no QuantizeLinear reads ${tensor}`);
  const init = (name: string) => model.graph!.initializer!.find((t) => t.name === name)!;
  return { scale: tensorToFloat32(init(q.input![1]))[0], zeroPoint: tensorToNumbers(init(q.input![2]))[0] };
}

/** INT8 output within `relMax` of the FP32 output range at worst and `relMean` on average. */
async function assertClose(q: { fp32: string; int8: string; feeds: ReturnType<typeof imageLikeFeeds> }, relMax = 0.05, relMean = 0.01): Promise<void> {
  for (const feed of q.feeds) {
    const a = await runModel(q.fp32, feed);
    const b = await runModel(q.int8, feed);
    for (const name of Object.keys(a)) {
      const range = maxAbs(a[name]);
      let sum = 0;
      for (let i = 0; i < a[name].length; i++) sum += Math.abs(a[name][i] - b[name][i]);
      const max = maxAbsDiff(a[name], b[name]);
      assert.ok(max <= relMax * range, `${name}: max |diff| ${max} > ${relMax} × ${range}`);
      assert.ok(sum / a[name].length <= relMean * range, `${name}: mean |diff| ${sum / a[name].length} > ${relMean} × ${range}`);
    }
  }
}

test('Conv + Relu: the Relu folds into the zero point and ORT runs one QLinearConv within the rounding bound', async () => {
  // input → conv1 → Relu → conv2 → output: the Relu between two quantized convs is redundant
  // once conv1's output is quantized to uint8 with zero point 0.
  const model = smallModel(8, 16, (b, r) => {
    const c1 = conv(b, 'conv1', 'input', 8, 8, r);
    const a = node(b, 'Relu', [c1], 'relu1');
    node(b, 'Identity', [conv(b, 'conv2', a, 8, 8, r)], 'output');
    return { output: [1, 8, 16, 16] };
  });
  const q = await quantize(model);
  assert.deepEqual(q.result.summary.foldedClamps, ['relu1']);
  assert.equal(nodesOf(q.model, 'Relu').length, 0);
  assert.equal(q.result.fusion.integerConvs, 2);
  assert.equal(q.result.fusion.ratio, 1);
  // conv1's output is quantized with zero point 0: uint8 cannot represent negatives, as ReLU.
  assert.equal(qParamsOf(q.model, 'relu1').zeroPoint, 0);
  // int8 weights and int32 biases behind DequantizeLinear; no float weights are left.
  const init = new Map(q.model.graph!.initializer!.map((t) => [t.name, t]));
  assert.equal(init.get('conv1_w_quantized')?.dataType, 3);
  assert.equal(init.get('conv1_b_quantized')?.dataType, 6);
  assert.ok(!init.has('conv1_w') && !init.has('conv1_b'));
  const biasScale = tensorToFloat32(init.get('conv1_b_scale')!);
  const inScale = qParamsOf(q.model, 'input').scale;
  const wScale = tensorToFloat32(init.get('conv1_w_scale')!);
  assert.deepEqual([...biasScale], [...wScale].map((s) => Math.fround(inScale * s)));
  await assertClose(q, 0.05, 0.01);
});

test('a single Conv stays within the worst-case rounding bound of its quantized input, weights and output', async () => {
  const model = smallModel(8, 16, (b, r) => {
    node(b, 'Identity', [conv(b, 'conv', 'input', 8, 16, r)], 'output');
    return { output: [1, 16, 16, 16] };
  });
  const q = await quantize(model);
  const init = new Map(model.graph!.initializer!.map((t) => [t.name, t]));
  const w = tensorToFloat32(init.get('conv_w')!);
  const [cout] = tensorDims(init.get('conv_w')!);
  const k = w.length / cout;
  const wScale = tensorToFloat32(q.model.graph!.initializer!.find((t) => t.name === 'conv_w_scale')!);
  const inScale = qParamsOf(q.model, 'input').scale;
  const outScale = qParamsOf(q.model, 'conv').scale;
  for (const feed of q.feeds) {
    const xMax = maxAbs(feed.input.data) + inScale;
    // |Δy| ≤ Σ|w|·s_in/2 + K·max|x|·s_w/2 + s_out/2, per output channel.
    let bound = 0;
    for (let c = 0; c < cout; c++) {
      let l1 = 0;
      for (let i = 0; i < k; i++) l1 += Math.abs(w[c * k + i]);
      bound = Math.max(bound, (l1 * inScale) / 2 + (k * xMax * wScale[c]) / 2 + outScale / 2);
    }
    const a = await runModel(q.fp32, feed);
    const b = await runModel(q.int8, feed);
    const diff = maxAbsDiff(a.output, b.output);
    assert.ok(diff <= bound, `max |diff| ${diff} exceeds the rounding bound ${bound}`);
  }
});

test('Conv + LeakyRelu: the LeakyRelu runs as QLinearLeakyRelu between two QLinearConvs', async () => {
  const model = smallModel(8, 16, (b, r) => {
    const a = node(b, 'LeakyRelu', [conv(b, 'conv1', 'input', 8, 8, r)], 'leaky', { alpha: attr.float(0.1) });
    node(b, 'Identity', [conv(b, 'conv2', a, 8, 8, r)], 'output');
    return { output: [1, 8, 16, 16] };
  });
  const q = await quantize(model);
  assert.equal(q.result.fusion.ops.QLinearLeakyRelu, 1);
  assert.equal(q.result.fusion.integerConvs, 2);
  // LeakyRelu has its own output scale (negative values survive, so the zero point is not 0).
  assert.notEqual(qParamsOf(q.model, 'leaky').zeroPoint, 0);
  await assertClose(q);
});

test('Clip(0, 6) folds like Relu; under the tensorrt profile Relu stays and every zero point is 0', async () => {
  const build = (op: 'Clip' | 'Relu') =>
    smallModel(8, 16, (b, r) => {
      const c1 = conv(b, 'conv1', 'input', 8, 8, r);
      const clipped = op === 'Clip' ? node(b, 'Clip', [c1, constant(b, 'lo', floatTensor('', [], [0])), constant(b, 'hi', floatTensor('', [], [6]))], 'act') : node(b, 'Relu', [c1], 'act');
      node(b, 'Identity', [conv(b, 'conv2', clipped, 8, 8, r)], 'output');
      return { output: [1, 8, 16, 16] };
    });
  const clip = await quantize(build('Clip'));
  assert.deepEqual(clip.result.summary.foldedClamps, ['act']);
  await assertClose(clip);

  const trt = await quantize(build('Relu'), { profile: 'tensorrt' });
  assert.equal(nodesOf(trt.model, 'Relu').length, 1);
  const qs = nodesOf(trt.model, 'QuantizeLinear');
  assert.ok(qs.length >= 2);
  for (const n of qs) {
    const zp = trt.model.graph!.initializer!.find((t) => t.name === n.input![2])!;
    assert.equal(zp.dataType, 3, 'int8 zero point');
    assert.deepEqual(tensorToNumbers(zp), [0]);
  }
  // TensorRT placement: Q/DQ on the inputs of weighted ops, weights per channel.
  assert.equal(trt.result.fusion.qdqWrapped, 2);
  assert.equal(trt.result.quantization.symmetricActivations, true);
  await assertClose(trt);
});

test('Concat: every input shares the output scale, so the concat is a plain copy', async () => {
  // One branch is ReLU'd (≥ 0), the other signed: their own ranges differ, the shared one
  // covers both, and the Relu cannot fold any more (the shared range goes below 0).
  const model = smallModel(8, 16, (b, r) => {
    const left = node(b, 'Relu', [conv(b, 'convA', 'input', 8, 8, r)], 'left');
    const right = conv(b, 'convB', 'input', 8, 8, r);
    const joined = node(b, 'Concat', [left, right], 'joined', { axis: attr.int(1) });
    node(b, 'Identity', [conv(b, 'convC', joined, 16, 8, r)], 'output');
    return { output: [1, 8, 16, 16] };
  });
  const q = await quantize(model);
  const out = qParamsOf(q.model, 'joined');
  assert.deepEqual(qParamsOf(q.model, 'left'), out);
  assert.deepEqual(qParamsOf(q.model, 'convB'), out);
  assert.ok(out.zeroPoint > 0);
  assert.deepEqual(q.result.summary.keptClamps, ['left']);
  assert.equal(q.result.fusion.ops.QLinearConcat, 1);
  assert.equal(q.result.fusion.integerConvs, 3);
  await assertClose(q);

  // With the Concat excluded by op type, each input keeps its own scale, the Relu folds again,
  // and the concat has to requantize.
  const excluded = await quantize(model, { exclude: ['Concat'] });
  assert.notDeepEqual(qParamsOf(excluded.model, 'left'), qParamsOf(excluded.model, 'convB'));
  assert.deepEqual(excluded.result.summary.foldedClamps, ['left']);
  await assertClose(excluded);
});

test('MaxPool moves before LeakyRelu (exactly) and shares its input scale', async () => {
  const model = smallModel(8, 16, (b, r) => {
    const a = node(b, 'LeakyRelu', [conv(b, 'conv1', 'input', 8, 8, r)], 'leaky', { alpha: attr.float(0.1) });
    const p = node(b, 'MaxPool', [a], 'pool', { kernel_shape: attr.ints([3, 3]), pads: attr.ints([1, 1, 1, 1]), strides: attr.ints([2, 2]) });
    node(b, 'Identity', [conv(b, 'conv2', p, 8, 8, r)], 'output');
    return { output: [1, 8, 8, 8] };
  });
  // The float rewrite alone changes nothing in the results.
  const moved = decodeModel(encodeModel(model));
  assert.deepEqual(poolBeforeActivation(moved).nodes, ['pool']);
  const order = moved.graph!.node!.map((n) => n.opType);
  assert.ok(order.indexOf('MaxPool') < order.indexOf('LeakyRelu'));
  for (const feed of imageLikeFeeds(2, [1, 8, 16, 16], 5)) {
    assert.equal(maxAbsDiff((await runModel(model, feed)).output, (await runModel(moved, feed)).output), 0);
  }
  const q = await quantize(model);
  const pool = nodesOf(q.model, 'MaxPool')[0];
  const pooledInput = nodesOf(q.model, 'DequantizeLinear').find((n) => n.output![0] === pool.input![0])!;
  const poolOut = nodesOf(q.model, 'QuantizeLinear').find((n) => n.input![0] === pool.output![0])!;
  const valueOf = (name: string) => tensorToNumbers(q.model.graph!.initializer!.find((t) => t.name === name)!)[0];
  assert.equal(valueOf(pooledInput.input![1]), valueOf(poolOut.input![1]), 'scale');
  assert.equal(valueOf(pooledInput.input![2]), valueOf(poolOut.input![2]), 'zero point');
  // ORT runs it as a uint8 MaxPool between the two QLinearConvs.
  assert.equal(q.result.fusion.integerConvs, 2);
  await assertClose(q);
});

test('bilinear Resize stays float; nearest Resize runs on uint8 with its input scale', async () => {
  const build = (mode: 'linear' | 'nearest') =>
    smallModel(8, 8, (b, r) => {
      const a = node(b, 'Relu', [conv(b, 'conv1', 'input', 8, 8, r)], 'relu1');
      const up = node(b, 'Resize', [a, '', constant(b, 'scales', floatTensor('', [4], [1, 1, 2, 2]))], 'up', { mode: attr.string(mode), coordinate_transformation_mode: attr.string(mode === 'linear' ? 'half_pixel' : 'asymmetric'), nearest_mode: attr.string('floor') });
      node(b, 'Identity', [conv(b, 'conv2', up, 8, 8, r)], 'output');
      return { output: [1, 8, 16, 16] };
    });
  const linear = await quantize(build('linear'), {}, 8, 8);
  const resize = nodesOf(linear.model, 'Resize')[0];
  // The Resize reads a dequantized tensor and writes float: its output gets a fresh scale.
  assert.ok(resize.input![0].endsWith('_dequantized'));
  assert.notDeepEqual(qParamsOf(linear.model, 'up'), qParamsOf(linear.model, 'relu1'));
  await assertClose(linear);

  const nearest = await quantize(build('nearest'), {}, 8, 8);
  assert.deepEqual(qParamsOf(nearest.model, 'up'), qParamsOf(nearest.model, 'relu1'));
  await assertClose(nearest);
});

test('--exclude keeps named nodes and op types in float', async () => {
  const model = smallModel(8, 16, (b, r) => {
    const a = node(b, 'LeakyRelu', [conv(b, 'conv1', 'input', 8, 8, r)], 'leaky', { alpha: attr.float(0.1) });
    node(b, 'Identity', [conv(b, 'conv2', a, 8, 8, r)], 'output');
    return { output: [1, 8, 16, 16] };
  });
  const byName = await quantize(model, { exclude: ['conv2'] });
  assert.deepEqual(byName.result.quantization.excluded, ['conv2']);
  assert.equal(byName.result.fusion.integerConvs, 1);
  assert.equal(byName.result.fusion.floatConvs, 1);
  await assertClose(byName);
  // Excluding every weighted op leaves nothing to quantize: an error, not a float copy.
  await assert.rejects(quantize(model, { exclude: ['Conv'] }), (e: Error & { code?: string }) => e.code === 'E_QUANT_NOTHING');
  await assert.rejects(quantize(model, { exclude: ['conv9'] }), (e: Error & { code?: string }) => e.code === 'E_QUANT_EXCLUDE' && e.message.includes('conv9'));
});

test('a split-reshape-transpose detection head is rewritten channels-last, exactly, and leaves no Transpose after ORT', async () => {
  const size = 8;
  const model = smallModel(8, size, (b, r) => {
    const head = conv(b, 'head', conv(b, 'conv1', 'input', 8, 8, r), 8, 6, r, { k: 1 });
    b.nodes.push({ opType: 'Split', input: [head, constant(b, 'sizes', int64Tensor('', [2], [4, 2]))], output: ['cls', 'reg'], name: 'split', attribute: [{ name: 'axis', type: 2, i: 1 }] });
    const s = node(b, 'Sigmoid', ['cls'], 'cls_sig');
    const r1 = node(b, 'Reshape', [s, constant(b, 'shape_cls', int64Tensor('', [3], [1, 4, size * size]))], 'cls_flat');
    const r2 = node(b, 'Reshape', ['reg', constant(b, 'shape_reg', int64Tensor('', [3], [1, 2, -1]))], 'reg_flat');
    node(b, 'Transpose', [r1], 'scores', { perm: attr.ints([0, 2, 1]) });
    node(b, 'Transpose', [r2], 'boxes', { perm: attr.ints([0, 2, 1]) });
    return { scores: [1, size * size, 4], boxes: [1, size * size, 2] };
  });
  const rewritten = decodeModel(encodeModel(model));
  assert.deepEqual(channelsLastHeads(rewritten).nodes, ['head']);
  for (const feed of imageLikeFeeds(2, [1, 8, size, size], 3)) {
    const a = await runModel(model, feed);
    const b = await runModel(rewritten, feed);
    assert.equal(maxAbsDiff(a.scores, b.scores), 0);
    assert.equal(maxAbsDiff(a.boxes, b.boxes), 0);
  }
  const q = await quantize(model, {}, 8, size);
  // The Sigmoid and Split (decode tail) stay float; the layout ops ride the int8 path, and
  // ORT's NHWC pass cancels them: only the input's NCHW→NHWC Transpose remains.
  assert.ok((q.result.fusion.ops.Transpose ?? 0) <= 1, JSON.stringify(q.result.fusion.ops));
  assert.ok(q.result.excluded.some((e) => e.opType === 'Sigmoid' && e.reason === 'tail'));
  assert.equal(q.result.fusion.integerConvs, 2);
  await assertClose(q, 0.05, 0.01);
});

test('a residual Add of two quantized branches runs as QLinearAdd', async () => {
  const model = smallModel(8, 16, (b, r) => {
    const a = node(b, 'Relu', [conv(b, 'conv1', 'input', 8, 8, r)], 'a');
    const c = conv(b, 'conv2', a, 8, 8, r);
    const sum = node(b, 'Add', [a, c], 'sum');
    node(b, 'Identity', [conv(b, 'conv3', sum, 8, 8, r)], 'output');
    return { output: [1, 8, 16, 16] };
  });
  const q = await quantize(model);
  assert.equal(q.result.fusion.ops.QLinearAdd, 1);
  assert.equal(q.result.fusion.integerConvs, 3);
  await assertClose(q);
});

test('MatMul with a constant weight becomes QLinearMatMul', async () => {
  const random = rng(4);
  const model = handBuiltModel({
    nodes: [
      nodeProto('Reshape', ['input', 'flat_shape'], ['flat'], { name: 'flatten' }),
      nodeProto('MatMul', ['flat', 'w1'], ['h'], { name: 'fc1' }),
      nodeProto('Relu', ['h'], ['h_relu'], { name: 'relu' }),
      nodeProto('MatMul', ['h_relu', 'w2'], ['logits'], { name: 'fc2' }),
      nodeProto('Identity', ['logits'], ['output'], { name: 'output' }),
    ],
    initializers: [int64Tensor('flat_shape', [2], [1, 512]), floatTensor('w1', [512, 64], randomArray(512 * 64, 0.06, random)), floatTensor('w2', [64, 10], randomArray(640, 0.2, random))],
    inputs: [floatValueInfo('input', [1, 8, 8, 8])],
    outputs: [floatValueInfo('output', [1, 10])],
  });
  const q = await quantize(model, {}, 8, 8);
  assert.equal(q.result.fusion.quantizedMatMuls, 2);
  assert.equal(q.result.fusion.integerMatMuls, 2);
  assert.deepEqual(q.result.summary.foldedClamps, ['relu']);
  await assertClose(q, 0.05, 0.02);
});

// The wasm backend's convolution gradients are the project's own code: each is checked against
// the pure-JS cpu backend's numbers on the same inputs, over strides, paddings and odd shapes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { useBackend } from '@kestrel/trainer/backend/select';

function seeded(n: number, seed: number): Float32Array {
  let s = seed >>> 0;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    s = (s * 1664525 + 1013904223) >>> 0;
    out[i] = s / 2 ** 32 - 0.5;
  }
  return out;
}

interface Case {
  name: string;
  x: [number, number, number, number];
  filter: [number, number, number, number];
  stride: number;
  pad: 'same' | 'valid';
  depthwise?: boolean;
  dilation?: number;
}

const CASES: Case[] = [
  { name: '3x3 stride 1 same', x: [2, 9, 7, 5], filter: [3, 3, 5, 6], stride: 1, pad: 'same' },
  { name: '3x3 stride 2 same', x: [2, 10, 9, 4], filter: [3, 3, 4, 7], stride: 2, pad: 'same' },
  { name: '3x3 stride 2 valid odd size', x: [3, 11, 13, 3], filter: [3, 3, 3, 4], stride: 2, pad: 'valid' },
  { name: '1x1 stride 1', x: [2, 6, 6, 8], filter: [1, 1, 8, 5], stride: 1, pad: 'same' },
  { name: '5x5 stride 1 valid', x: [1, 12, 10, 3], filter: [5, 5, 3, 2], stride: 1, pad: 'valid' },
  { name: 'depthwise 3x3 stride 1 same', x: [2, 9, 8, 6], filter: [3, 3, 6, 1], stride: 1, pad: 'same', depthwise: true },
  { name: 'depthwise 3x3 stride 2 same', x: [2, 10, 11, 4], filter: [3, 3, 4, 1], stride: 2, pad: 'same', depthwise: true },
  { name: 'depthwise multiplier 2 valid', x: [1, 8, 8, 3], filter: [3, 3, 3, 2], stride: 1, pad: 'valid', depthwise: true },
];

/** Gradients of Σ conv(x, W) ⊙ r with respect to x and W, on the current backend. */
function gradients(c: Case): { dx: Float32Array; dw: Float32Array } {
  return tf.tidy(() => {
    const x = tf.tensor4d(seeded(c.x.reduce((a, b) => a * b), 1), c.x);
    const w = tf.tensor4d(seeded(c.filter.reduce((a, b) => a * b), 2), c.filter);
    const conv = (xi: tf.Tensor4D, wi: tf.Tensor4D): tf.Tensor4D =>
      c.depthwise ? tf.depthwiseConv2d(xi, wi, c.stride, c.pad) : tf.conv2d(xi, wi, c.stride, c.pad);
    const outShape = conv(x, w).shape;
    const r = tf.tensor(seeded(outShape.reduce((a, b) => a * b), 3), outShape);
    const [dx, dw] = tf.grads((xi: tf.Tensor, wi: tf.Tensor) => tf.sum(tf.mul(conv(xi as tf.Tensor4D, wi as tf.Tensor4D), r)))([x, w]);
    return { dx: dx.dataSync() as Float32Array, dw: dw.dataSync() as Float32Array };
  });
}

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  assert.equal(a.length, b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

test('wasm convolution gradients match the cpu backend', async (t) => {
  const expected = new Map<string, { dx: Float32Array; dw: Float32Array }>();
  await useBackend('cpu');
  for (const c of CASES) expected.set(c.name, gradients(c));
  await useBackend('wasm');
  for (const c of CASES) {
    await t.test(c.name, () => {
      const got = gradients(c);
      const want = expected.get(c.name)!;
      assert.ok(maxAbsDiff(got.dw, want.dw) < 1e-4, `filter gradient differs by ${maxAbsDiff(got.dw, want.dw)}`);
      assert.ok(maxAbsDiff(got.dx, want.dx) < 1e-4, `input gradient differs by ${maxAbsDiff(got.dx, want.dx)}`);
      // A kernel that returned zeros would pass a diff test against zeros: demand real values.
      assert.ok(want.dw.some((v) => Math.abs(v) > 1e-3));
    });
  }
});

test('per-channel Sum and Mean (the fast path) match the cpu backend; other reductions still work', async () => {
  const shape = [3, 5, 7, 6];
  const data = seeded(shape.reduce((a, b) => a * b), 4);
  const reduce = (): number[][] => tf.tidy(() => {
    const x = tf.tensor(data, shape);
    return [tf.sum(x, [0, 1, 2]), tf.mean(x, [0, 1, 2], true), tf.sum(x, [1, 2]), tf.mean(x, -1), tf.sum(x)].map((t) => Array.from(t.dataSync()));
  });
  await useBackend('cpu');
  const want = reduce();
  await useBackend('wasm');
  const got = reduce();
  got.forEach((g, i) => {
    assert.equal(g.length, want[i].length);
    g.forEach((v, k) => assert.ok(Math.abs(v - want[i][k]) < 1e-4, `reduction ${i} element ${k}: ${v} vs ${want[i][k]}`));
  });
});

test('Identity on wasm shares memory instead of copying, and values stay right', async () => {
  await useBackend('wasm');
  const before = tf.memory().numBytes;
  const x = tf.tensor1d([1, 2, 3]);
  const y = tf.engine().runKernel('Identity', { x }) as tf.Tensor;
  assert.deepEqual(Array.from(y.dataSync()), [1, 2, 3]);
  x.dispose();
  assert.deepEqual(Array.from(y.dataSync()), [1, 2, 3], 'the clone outlives the original');
  y.dispose();
  assert.equal(tf.memory().numBytes, before);
});

test('the wasm backend is chosen here and the Kestrel gradient kernels are registered', async () => {
  await useBackend('wasm');
  for (const name of ['Conv2DBackpropFilter', 'Conv2DBackpropInput', 'DepthwiseConv2dNativeBackpropFilter', 'DepthwiseConv2dNativeBackpropInput']) {
    assert.ok(tf.getKernel(name, 'wasm'), `${name} registered`);
  }
});

// The importer's pure parts: weight decoding, constant folding, slicing and layout arithmetic.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { halfToFloat } from '@kestrel/importer/float16';
import { decodeWeight } from '@kestrel/importer/weights';
import { foldNode, sliceHost } from '@kestrel/importer/fold';
import { resolveStridedSlice } from '@kestrel/importer/ops/slice';
import { samePadding } from '@kestrel/importer/ops/spatial';
import { broadcastShapes } from '@kestrel/importer/ops/broadcast';
import { permAfterTranspose, transposeBetween } from '@kestrel/importer/layout';
import { hostTensor, int32Tensor, toNumbers, transposeHost } from '@kestrel/importer/tensor';

test('float16 weights expand to the exact float32 values, subnormals and infinities included', () => {
  assert.equal(halfToFloat(0x3c00), 1);
  assert.equal(halfToFloat(0xc000), -2);
  assert.equal(halfToFloat(0x3555), 0.333251953125);
  assert.equal(halfToFloat(0x7bff), 65504);
  assert.equal(halfToFloat(0x0001), 2 ** -24);
  assert.equal(halfToFloat(0x7c00), Infinity);
  assert.equal(halfToFloat(0xfc00), -Infinity); // NanoDet's MaxPool padding value
  assert.ok(Number.isNaN(halfToFloat(0x7e00)));
  assert.ok(Object.is(halfToFloat(0x8000), -0));
});

test('int32 and float32 weights decode at offsets that are not multiples of 4', () => {
  const bytes = new DataView(new ArrayBuffer(6 + 12 + 8));
  [7, -1, 123456].forEach((v, i) => bytes.setInt32(6 + i * 4, v, true));
  [1.5, -0.25].forEach((v, i) => bytes.setFloat32(18 + i * 4, v, true));
  const ints = decodeWeight({ name: 'shape', shape: [3], dtype: 'int32' }, bytes, 6);
  const floats = decodeWeight({ name: 'w', shape: [2], dtype: 'float32' }, bytes, 18);
  assert.deepEqual(Array.from(ints.data as Int32Array), [7, -1, 123456]);
  assert.deepEqual(Array.from(floats.data as Float32Array), [1.5, -0.25]);
});

test('uint8-quantized weights dequantize as min + q * scale (rounded for int32)', () => {
  const bytes = new DataView(Uint8Array.from([0, 1, 255]).buffer);
  const f = decodeWeight({ name: 'q', shape: [3], dtype: 'float32', quantization: { dtype: 'uint8', min: -1, scale: 0.5 } }, bytes, 0);
  assert.deepEqual(Array.from(f.data as Float32Array), [-1, -0.5, 126.5]);
  const i = decodeWeight({ name: 'qi', shape: [3], dtype: 'int32', quantization: { dtype: 'uint8', min: 0, scale: 0.4 } }, bytes, 0);
  assert.deepEqual(Array.from(i.data as Int32Array), [0, 0, 102]);
});

test("NanoDet's SparseToDense → AddV2 chain folds to the Reshape target [1, 80, -1]", () => {
  // As stored in nanodet.json: no sparse entries, so the dense result is all default (0).
  const empty = hostTensor('int32', [0, 1], new Int32Array(0));
  const dense = foldNode({ name: 'SparseToDense', op: 'SparseToDense' }, [empty, int32Tensor([3]), hostTensor('int32', [0], new Int32Array(0)), int32Tensor([0], [])]);
  assert.ok(dense);
  assert.deepEqual(toNumbers(dense[0]), [0, 0, 0]);
  const target = foldNode({ name: 'add', op: 'AddV2' }, [int32Tensor([1, 80, -1]), dense[0]]);
  assert.deepEqual(toNumbers(target![0]), [1, 80, -1]);
  // With entries: values land at their indices.
  const scattered = foldNode({ name: 's', op: 'SparseToDense' }, [int32Tensor([0, 1, 2, 0], [2, 2]), int32Tensor([3, 2]), int32Tensor([5, 9]), int32Tensor([-1], [])]);
  assert.deepEqual(toNumbers(scattered![0]), [-1, 5, -1, -1, 9, -1]);
});

test('folded integer FloorDiv/FloorMod round toward negative infinity like TF', () => {
  const x = int32Tensor([-7, -6, 7, 0]);
  assert.deepEqual(toNumbers(foldNode({ name: 'd', op: 'FloorDiv' }, [x, int32Tensor([2], [])])![0]), [-4, -3, 3, 0]);
  assert.deepEqual(toNumbers(foldNode({ name: 'm', op: 'FloorMod' }, [x, int32Tensor([-3], [])])![0]), [-1, 0, -2, 0]);
});

test('StridedSlice with a negative stride and a shrunk axis follows TF (NumPy) semantics', () => {
  // x = arange(336).reshape(2, 6, 7, 4); x[1:2, 1:5:2, -1::-2, 2] in NumPy:
  const x = hostTensor('int32', [2, 6, 7, 4], Int32Array.from({ length: 336 }, (_, i) => i));
  const spec = resolveStridedSlice(x.shape, [1, 1, -1, 2], [2, 5, 0, 3], [1, 2, -2, 1], { begin: 0, end: 4, ellipsis: 0, newAxis: 0, shrinkAxis: 8 }, (r) => new Error(r));
  assert.deepEqual(spec.shape, [1, 2, 4]);
  assert.deepEqual(toNumbers(sliceHost(x, spec)), [222, 214, 206, 198, 278, 270, 262, 254]);
  assert.throws(() => resolveStridedSlice(x.shape, [0], [1], [1], { begin: 0, end: 0, ellipsis: 1, newAxis: 0, shrinkAxis: 0 }, (r) => new Error(r)), /ellipsis/);
});

test('TF SAME padding puts the odd pixel at the end', () => {
  assert.deepEqual(samePadding(9, 3, 2, 1), [1, 1]);
  assert.deepEqual(samePadding(10, 3, 2, 1), [0, 1]);
  assert.deepEqual(samePadding(416, 3, 1, 1), [1, 1]);
  assert.deepEqual(samePadding(7, 3, 1, 2), [2, 2]);
  assert.deepEqual(samePadding(4, 1, 2, 1), [0, 0]);
});

test('broadcasting follows NumPy rules', () => {
  assert.deepEqual(broadcastShapes([1, 4, 4, 3], [3]), [1, 4, 4, 3]);
  assert.deepEqual(broadcastShapes([3, 1], [1, 5]), [3, 5]);
  assert.equal(broadcastShapes([2, 3], [4]), undefined);
});

test('layout bookkeeping: a held tensor re-laid out or re-read after a Transpose equals the real transpose', () => {
  const t = hostTensor('int32', [2, 3, 4, 5], Int32Array.from({ length: 120 }, (_, i) => i));
  const perms = [[0, 3, 1, 2], [0, 2, 3, 1], [3, 2, 1, 0], [1, 0, 3, 2], [0, 1, 2, 3]];
  for (const from of perms) {
    const held = transposeHost(t, from);
    for (const to of perms) {
      assert.deepEqual(toNumbers(transposeHost(held, transposeBetween(from, to))), toNumbers(transposeHost(t, to)), `${from} → ${to}`);
      // TF Transpose(x, p): the held tensor now holds y = transpose(x, p) in layout permAfterTranspose.
      const y = transposeHost(t, to);
      assert.deepEqual(toNumbers(transposeHost(y, permAfterTranspose(from, to))), toNumbers(held), `transpose ${to} of held ${from}`);
    }
  }
});

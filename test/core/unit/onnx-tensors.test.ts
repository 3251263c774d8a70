import { test } from 'node:test';
import assert from 'node:assert/strict';
import { onnx } from '@kestrel/core/onnx/proto';
import { DataType, boolTensor, floatTensor, int32Tensor, int64Tensor, int8Tensor, uint8Tensor, tensorToFloat32, tensorToNumbers, tensorDims } from '@kestrel/core/onnx/tensors';

test('tensors round-trip through raw_data and through protobuf encoding', () => {
  const f = floatTensor('w', [2, 2], [1.5, -2, 0, 3.25]);
  const decoded = onnx.TensorProto.decode(onnx.TensorProto.encode(f).finish());
  assert.deepEqual(tensorDims(decoded), [2, 2]);
  assert.deepEqual([...tensorToFloat32(decoded)], [1.5, -2, 0, 3.25]);
  assert.deepEqual(tensorToNumbers(int64Tensor('s', [3], [1, -1, 2704])), [1, -1, 2704]);
  assert.deepEqual(tensorToNumbers(int8Tensor('q', [3], Int8Array.from([-128, 0, 127]))), [-128, 0, 127]);
});

test('float data stored in typed fields and float16 raw data are read too', () => {
  assert.deepEqual([...tensorToFloat32({ dims: [2], dataType: onnx.TensorProto.DataType.FLOAT, floatData: [0.5, 4] })], [0.5, 4]);
  // float16: 0x3c00 = 1, 0xc000 = -2, 0x3800 = 0.5, little-endian.
  const raw = Uint8Array.from([0x00, 0x3c, 0x00, 0xc0, 0x00, 0x38]);
  assert.deepEqual([...tensorToFloat32({ dims: [3], dataType: onnx.TensorProto.DataType.FLOAT16, rawData: raw })], [1, -2, 0.5]);
});

test('every maker writes its ONNX data type with little-endian raw data, copied from the caller', () => {
  const data = Int32Array.from([1, -2]);
  const t = int32Tensor('i', [2], data);
  data[0] = 99;
  assert.equal(t.dataType, DataType.INT32);
  assert.deepEqual([...t.rawData!], [1, 0, 0, 0, 0xfe, 0xff, 0xff, 0xff]);
  assert.deepEqual(tensorToNumbers(uint8Tensor('u', [3], Uint8Array.from([0, 128, 255]))), [0, 128, 255]);
  const b = boolTensor('b', [2], Uint8Array.from([1, 0]));
  assert.deepEqual([b.dataType, [...b.rawData!]], [DataType.BOOL, [1, 0]]);
  // int64 beyond 2^53 survives when given as BigInt64Array.
  const big = int64Tensor('l', [1], BigInt64Array.of(2n ** 60n + 1n));
  assert.equal(new DataView(big.rawData!.buffer, big.rawData!.byteOffset).getBigInt64(0, true), 2n ** 60n + 1n);
  // A scalar has no dims and one value.
  assert.deepEqual(tensorToFloat32(floatTensor('s', [], [0.25])), Float32Array.of(0.25));
});

test('a tensor whose values do not fill its dims is refused where it is made', () => {
  assert.throws(() => floatTensor('w', [2, 3], [1, 2, 3]), /tensor w: 3 values for dims \[2, 3\]/);
  assert.throws(() => int64Tensor('s', [], [1, 2]), /tensor s: 2 values/);
});

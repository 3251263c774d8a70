import { test } from 'node:test';
import assert from 'node:assert/strict';
import { onnx } from '@kestrel/core/onnx/proto';
import { floatTensor, int64Tensor, int8Tensor, tensorToFloat32, tensorToNumbers, tensorDims } from '@kestrel/quantize/graph/tensors';

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

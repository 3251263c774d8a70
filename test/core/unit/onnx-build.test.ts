// Core's ONNX builders: every attribute kind keeps the type the caller chose, attribute order and
// names never depend on call order, and a GraphBuilder model runs in ONNX Runtime.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import ort from 'onnxruntime-node';
import { onnx } from '@kestrel/core/onnx/proto';
import { decodeModel, encodeModel } from '@kestrel/core/onnx/io';
import { attr, attributeProto, modelProto, nodeProto, valueInfo } from '@kestrel/core/onnx/build';
import { GraphBuilder } from '@kestrel/core/onnx/graph-builder';
import { DataType, floatTensor, int64Tensor, tensorToFloat32 } from '@kestrel/core/onnx/tensors';
import { IR_VERSION, OPSET } from '@kestrel/core/onnx/versions';

const T = onnx.AttributeProto.AttributeType;

test('each attribute kind becomes its own AttributeProto type, and survives encoding', () => {
  const node = nodeProto('X', ['a'], ['b'], {
    attributes: {
      i: attr.int(3),
      f: attr.float(1),
      s: attr.string('nearest'),
      is: attr.ints([0, -1, 2]),
      fs: attr.floats([0.5, 2]),
      t: attr.tensor(floatTensor('', [2], [1, 2])),
    },
  });
  const decoded = onnx.NodeProto.decode(onnx.NodeProto.encode(node).finish());
  const byName = Object.fromEntries(decoded.attribute.map((a) => [a.name, a]));
  assert.equal(byName.i.type, T.INT);
  assert.equal(Number(byName.i.i), 3);
  // An integral float stays FLOAT: ONNX Runtime rejects LeakyRelu with an INT alpha.
  assert.equal(byName.f.type, T.FLOAT);
  assert.equal(byName.f.f, 1);
  assert.equal(byName.s.type, T.STRING);
  assert.equal(new TextDecoder().decode(byName.s.s), 'nearest');
  assert.equal(byName.is.type, T.INTS);
  assert.deepEqual(byName.is.ints.map(Number), [0, -1, 2]);
  assert.equal(byName.fs.type, T.FLOATS);
  assert.deepEqual(byName.fs.floats, [0.5, 2]);
  assert.equal(byName.t.type, T.TENSOR);
  assert.deepEqual([...tensorToFloat32(byName.t.t!)], [1, 2]);
});

test('an INT attribute refuses a fraction instead of writing a wrong model', () => {
  assert.throws(() => attributeProto('group', attr.int(1.5)), /group: INT value 1.5/);
  assert.throws(() => attributeProto('pads', attr.ints([1, 0.5])), /pads: INTS/);
});

test('attributes are written sorted by name, so listing order does not change the bytes', () => {
  const a = nodeProto('Resize', ['x'], ['y'], { name: 'up', attributes: { mode: attr.string('nearest'), coordinate_transformation_mode: attr.string('asymmetric'), nearest_mode: attr.string('floor') } });
  const b = nodeProto('Resize', ['x'], ['y'], { name: 'up', attributes: { nearest_mode: attr.string('floor'), mode: attr.string('nearest'), coordinate_transformation_mode: attr.string('asymmetric') } });
  assert.deepEqual(a.attribute!.map((x) => x.name), ['coordinate_transformation_mode', 'mode', 'nearest_mode']);
  assert.deepEqual(onnx.NodeProto.encode(a).finish(), onnx.NodeProto.encode(b).finish());
});

test('a node carries a domain only when one is given', () => {
  assert.equal(nodeProto('Relu', ['x'], ['y']).domain, undefined);
  assert.equal(nodeProto('QGemm', ['x'], ['y'], { domain: 'com.microsoft' }).domain, 'com.microsoft');
});

test('value infos: sizes, named dims, null as the batch dim N, or no shape at all', () => {
  const v = valueInfo('x', DataType.FLOAT, [null, 3, 'H', 8]);
  assert.deepEqual(v.type!.tensorType!.shape!.dim, [{ dimParam: 'N' }, { dimValue: 3 }, { dimParam: 'H' }, { dimValue: 8 }]);
  assert.equal(valueInfo('y', DataType.INT64).type!.tensorType!.shape, undefined);
  assert.equal(valueInfo('y', DataType.INT64).type!.tensorType!.elemType, DataType.INT64);
});

test('a model gets Kestrel\'s opset and IR version unless told otherwise, and metadata in order', () => {
  const graph = { name: 'g', nodes: [nodeProto('Relu', ['x'], ['y'])], inputs: [valueInfo('x', DataType.FLOAT, [1])], outputs: [valueInfo('y', DataType.FLOAT, [1])] };
  const m = decodeModel(encodeModel(modelProto({ producerName: 'test', producerVersion: '1', docString: 'doc', metadata: { b: '2', a: '1' }, graph })));
  assert.equal(Number(m.irVersion), IR_VERSION);
  assert.deepEqual(m.opsetImport.map((o) => [o.domain, Number(o.version)]), [['', OPSET]]);
  assert.deepEqual([m.producerName, m.producerVersion, m.docString], ['test', '1', 'doc']);
  assert.deepEqual(m.metadataProps.map((p) => [p.key, p.value]), [['b', '2'], ['a', '1']]);
  const old = decodeModel(encodeModel(modelProto({ producerName: 'test', opset: 11, irVersion: 6, graph })));
  assert.deepEqual([Number(old.irVersion), Number(old.opsetImport[0].version)], [6, 11]);
});

test('GraphBuilder: taken value names get _2, _3; node names are their own namespace', () => {
  const g = new GraphBuilder();
  assert.equal(g.input('x', DataType.FLOAT, [1, 4]), 'x');
  assert.throws(() => g.input('x', DataType.FLOAT, [1, 4]), /already used/);
  assert.equal(g.reserve('taken'), true);
  assert.equal(g.reserve('taken'), false);
  assert.equal(g.uniqueName('taken'), 'taken_2');
  assert.equal(g.initializer('w', floatTensor('ignored', [4], [1, 2, 3, 4])), 'w');
  assert.equal(g.initializer('w', floatTensor('', [1], [0])), 'w_2');
  assert.equal(g.node('Add', ['x', 'w'], 'y'), 'y');
  assert.equal(g.node('Add', ['y', 'w'], 'y'), 'y_2');
  assert.deepEqual(g.node('Split', ['y_2'], ['a', 'b'], { axis: attr.int(1) }, 'split'), ['a', 'b']);
  assert.throws(() => g.output('nothing', DataType.FLOAT, [1, 4]), /no input, initializer or node/);
  g.output('a', DataType.FLOAT, [1, 2]);
  const m = g.toModel({ graphName: 'g', producerName: 'test' });
  assert.deepEqual(m.graph!.node!.map((n) => n.name), ['y', 'y_2', 'split']);
  assert.deepEqual(m.graph!.initializer!.map((t) => t.name), ['w', 'w_2']);
});

/** LeakyRelu(alpha 1) → Reshape → Mul by a weight: attributes, int64 and float initializers. */
function build(): Uint8Array {
  const g = new GraphBuilder();
  const x = g.input('x', DataType.FLOAT, [null, 2, 2]);
  const act = g.node('LeakyRelu', [x], 'act', { alpha: attr.float(1) });
  const flat = g.node('Reshape', [act, g.initializer('shape', int64Tensor('', [2], [-1, 4]))], 'flat');
  const y = g.node('Mul', [flat, g.initializer('scale', floatTensor('', [4], [1, 2, 3, 4]))], 'y');
  g.output(y, DataType.FLOAT, [null, 4]);
  return encodeModel(g.toModel({ graphName: 'tiny', producerName: 'test', producerVersion: '0' }));
}

test('the same GraphBuilder calls give the same bytes, and ONNX Runtime runs the model', async () => {
  const bytes = build();
  assert.deepEqual(build(), bytes);
  const session = await ort.InferenceSession.create(bytes);
  try {
    const out = await session.run({ x: new ort.Tensor('float32', Float32Array.from([-1, 2, -3, 4]), [1, 2, 2]) });
    assert.deepEqual([...(out.y.data as Float32Array)], [-1, 4, -9, 16]);
  } finally {
    await session.release();
  }
});

// What a user sees when a TF.js model cannot be imported: one error with a stable code that
// names the file, the op types and the nodes, never a stack trace from deep inside.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, truncateSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { importTfjsGraphModel } from '@kestrel/importer';
import { isKestrelError } from '@kestrel/core/util/errors';
import { a, writeTinyGraphModel, type TinyGraph } from './support/tiny-graph.js';

const work = mkdtempSync(join(tmpdir(), 'kestrel-tfjs-errors-'));
test.after(() => rmSync(work, { recursive: true, force: true }));

function expectKestrelError(code: string, ...patterns: RegExp[]): (err: unknown) => boolean {
  return (err) => {
    assert.ok(isKestrelError(err), `expected a KestrelError, got ${String(err)}`);
    assert.equal(err.code, code, err.message);
    for (const p of patterns) assert.match(err.message, p);
    return true;
  };
}

const RELU_GRAPH: TinyGraph = {
  input: { name: 'x', shape: [1, 4] },
  consts: [{ name: 'w', dtype: 'float32', shape: [4], values: [1, 2, 3, 4] }],
  nodes: [
    { name: 'mul', op: 'Mul', inputs: ['x', 'w'] },
    { name: 'relu', op: 'Relu', inputs: ['mul'] },
  ],
  outputs: ['relu'],
};

test('a model with ops the importer lacks fails with E_IMPORT_UNSUPPORTED_OP naming every op type and node', async () => {
  const path = writeTinyGraphModel(join(work, 'unsupported'), {
    input: { name: 'x', shape: [1, 8] },
    nodes: [
      { name: 'post/Erf', op: 'Erf', inputs: ['x'] },
      { name: 'post/Erf_1', op: 'Erf', inputs: ['post/Erf'] },
      { name: 'nms/Atan2', op: 'Atan2', inputs: ['post/Erf_1', 'x'] },
    ],
    outputs: ['nms/Atan2'],
  });
  await assert.rejects(importTfjsGraphModel(path), (err) => {
    expectKestrelError('E_IMPORT_UNSUPPORTED_OP', /Erf/, /"post\/Erf", "post\/Erf_1"/, /Atan2/, /"nms\/Atan2"/)(err);
    assert.deepEqual((err as { details: { ops: object } }).details.ops, { Erf: ['post/Erf', 'post/Erf_1'], Atan2: ['nms/Atan2'] });
    return true;
  });
});

test('a supported op with an unsupported variant fails naming the node and the reason', async () => {
  const path = writeTinyGraphModel(join(work, 'fused-bn'), {
    input: { name: 'x', shape: [1, 4, 4, 2] },
    consts: [
      { name: 'w', dtype: 'float32', shape: [1, 1, 2, 2], values: [1, 0, 0, 1] },
      ...['scale', 'offset', 'mean', 'var'].map((name) => ({ name, dtype: 'float32' as const, shape: [2], values: [1, 1] })),
    ],
    nodes: [
      {
        name: 'block/conv_bn',
        op: '_FusedConv2D',
        inputs: ['x', 'w', 'scale', 'offset', 'mean', 'var'],
        attr: { data_format: a.s('NHWC'), strides: a.ints([1, 1, 1, 1]), padding: a.s('SAME'), fused_ops: a.strings(['FusedBatchNorm']), num_args: a.i(4) },
      },
    ],
    outputs: ['block/conv_bn'],
  });
  await assert.rejects(importTfjsGraphModel(path), expectKestrelError('E_IMPORT_UNSUPPORTED_OP', /_FusedConv2D/, /"block\/conv_bn"/, /FusedBatchNorm/));
});

test('a missing weight file fails with E_IMPORT_WEIGHTS naming the file', async () => {
  const dir = join(work, 'missing-shard');
  const path = writeTinyGraphModel(dir, RELU_GRAPH);
  unlinkSync(join(dir, 'weights.bin'));
  await assert.rejects(importTfjsGraphModel(path), expectKestrelError('E_IMPORT_WEIGHTS', new RegExp(`${join(dir, 'weights.bin').replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}.*ENOENT`)));
});

test('a truncated weight file fails with E_IMPORT_WEIGHTS naming the file and both sizes', async () => {
  const dir = join(work, 'short-shard');
  const path = writeTinyGraphModel(dir, RELU_GRAPH);
  truncateSync(join(dir, 'weights.bin'), 10);
  await assert.rejects(importTfjsGraphModel(path), expectKestrelError('E_IMPORT_WEIGHTS', /weights\.bin/, /10 bytes/, /16/));
});

test('a file that is not JSON, a missing file and a JSON that is no graph model fail with E_IMPORT_MODEL_JSON', async () => {
  const notJson = join(work, 'not-json.json');
  writeFileSync(notJson, '\x89PNG this is not json');
  await assert.rejects(importTfjsGraphModel(notJson), expectKestrelError('E_IMPORT_MODEL_JSON', /not-json\.json/, /not JSON/));
  await assert.rejects(importTfjsGraphModel(join(work, 'nowhere.json')), expectKestrelError('E_IMPORT_MODEL_JSON', /nowhere\.json/, /ENOENT/));
  const layers = join(work, 'layers.json');
  writeFileSync(layers, JSON.stringify({ format: 'layers-model', modelTopology: {}, weightsManifest: [] }));
  await assert.rejects(importTfjsGraphModel(layers), expectKestrelError('E_IMPORT_MODEL_JSON', /layers model/));
  const other = join(work, 'other.json');
  writeFileSync(other, JSON.stringify({ name: 'package', version: '1.0.0' }));
  await assert.rejects(importTfjsGraphModel(other), expectKestrelError('E_IMPORT_MODEL_JSON', /not a TF\.js graph model/));
});

test('outputNames naming an output the model lacks fails with E_IMPORT_OPTIONS listing the real outputs', async () => {
  const path = writeTinyGraphModel(join(work, 'options'), RELU_GRAPH);
  await assert.rejects(importTfjsGraphModel(path, { outputNames: { Identity_9: 'scores' } }), expectKestrelError('E_IMPORT_OPTIONS', /Identity_9/, /relu/));
  const model = await importTfjsGraphModel(path, { inputName: 'image', outputNames: { 'relu:0': 'activation' } });
  assert.deepEqual(model.graph!.input!.map((i) => i.name), ['image']);
  assert.deepEqual(model.graph!.output!.map((o) => o.name), ['activation']);
});

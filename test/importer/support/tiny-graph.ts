// Writes small TF.js graph models (model.json + one weight shard) for importer tests: one op or
// a few, with the exact attributes tensorflowjs_converter would write.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface TinyConst {
  name: string;
  dtype: 'float32' | 'int32';
  shape: number[];
  values: readonly number[];
  /** Store as TF.js float16 or uint8 quantized weights. */
  quantize?: 'float16' | 'uint8';
}

export interface TinyNode {
  name: string;
  op: string;
  inputs?: string[];
  attr?: Record<string, unknown>;
}

export interface TinyGraph {
  input: { name: string; shape: number[] };
  consts?: TinyConst[];
  nodes: TinyNode[];
  outputs: string[];
}

/** TF attribute values in model.json form. */
export const a = {
  i: (v: number) => ({ i: String(v) }),
  f: (v: number) => ({ f: v }),
  b: (v: boolean) => ({ b: v }),
  s: (v: string) => ({ s: Buffer.from(v).toString('base64') }),
  ints: (v: number[]) => ({ list: { i: v.map(String) } }),
  strings: (v: string[]) => ({ list: { s: v.map((x) => Buffer.from(x).toString('base64')) } }),
  type: (v: 'DT_FLOAT' | 'DT_INT32' | 'DT_BOOL') => ({ type: v }),
};

function floatToHalf(value: number): number {
  const f32 = new Float32Array([value]);
  const bits = new Uint32Array(f32.buffer)[0];
  const sign = (bits >>> 16) & 0x8000;
  const exp = ((bits >>> 23) & 0xff) - 127 + 15;
  const mant = bits & 0x7fffff;
  if (exp <= 0) return sign; // tests use normal values; flush tiny ones to zero
  if (exp >= 31) return sign | 0x7c00;
  return sign | (exp << 10) | Math.round(mant / 8192);
}

function encodeConst(c: TinyConst): { bytes: Buffer; spec: Record<string, unknown> } {
  const spec: Record<string, unknown> = { name: c.name, shape: c.shape, dtype: c.dtype };
  if (c.quantize === 'float16') {
    const bytes = Buffer.alloc(c.values.length * 2);
    c.values.forEach((v, i) => bytes.writeUInt16LE(floatToHalf(v), i * 2));
    spec.quantization = { dtype: 'float16', original_dtype: 'float32' };
    return { bytes, spec };
  }
  if (c.quantize === 'uint8') {
    const min = Math.min(...c.values);
    const max = Math.max(...c.values);
    const scale = (max - min) / 255 || 1;
    const bytes = Buffer.from(c.values.map((v) => Math.round((v - min) / scale)));
    spec.quantization = { dtype: 'uint8', min, scale, original_dtype: c.dtype };
    return { bytes, spec };
  }
  const bytes = Buffer.alloc(c.values.length * 4);
  c.values.forEach((v, i) => (c.dtype === 'int32' ? bytes.writeInt32LE(v, i * 4) : bytes.writeFloatLE(v, i * 4)));
  return { bytes, spec };
}

/** Writes `dir/model.json` and `dir/weights.bin`; returns the model.json path. */
export function writeTinyGraphModel(dir: string, graph: TinyGraph): string {
  mkdirSync(dir, { recursive: true });
  const encoded = (graph.consts ?? []).map(encodeConst);
  const nodes = [
    ...(graph.consts ?? []).map((c) => ({ name: c.name, op: 'Const', attr: { dtype: a.type(c.dtype === 'int32' ? 'DT_INT32' : 'DT_FLOAT'), value: { tensor: {} } } })),
    {
      name: graph.input.name,
      op: 'Placeholder',
      attr: { dtype: a.type('DT_FLOAT'), shape: { shape: { dim: graph.input.shape.map((d) => ({ size: String(d) })) } } },
    },
    ...graph.nodes.map((n) => ({ name: n.name, op: n.op, input: n.inputs ?? [], attr: { T: a.type('DT_FLOAT'), ...(n.attr ?? {}) } })),
  ];
  const json = {
    format: 'graph-model',
    generatedBy: 'kestrel-test',
    convertedBy: 'kestrel-test',
    signature: {
      inputs: { [graph.input.name]: { name: graph.input.name, dtype: 'DT_FLOAT' } },
      outputs: Object.fromEntries(graph.outputs.map((o) => [o, { name: o }])),
    },
    modelTopology: { node: nodes, library: {}, versions: {} },
    weightsManifest: [{ paths: ['weights.bin'], weights: encoded.map((e) => e.spec) }],
  };
  const path = join(dir, 'model.json');
  writeFileSync(path, JSON.stringify(json));
  writeFileSync(join(dir, 'weights.bin'), Buffer.concat(encoded.map((e) => e.bytes)));
  return path;
}

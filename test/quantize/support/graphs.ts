// Small ONNX graphs built by hand for quantizer tests, and a way to run them in ONNX Runtime.
import ort from 'onnxruntime-node';
import { encodeModel, type ModelProto } from '@kestrel/core/onnx/io';
import { attr, modelProto, nodeProto, valueInfo, type Attribute, type GraphParts, type NodeProto, type ValueInfoProto } from '@kestrel/core/onnx/build';
import { DataType, floatTensor, type TensorProto } from '@kestrel/core/onnx/tensors';
import type { TensorFeed } from '@kestrel/quantize';

/** Deterministic pseudo-random numbers (tests must not flake). */
export function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 4294967296;
  };
}

export function randomArray(n: number, scale: number, random: () => number, offset = -0.5): Float32Array {
  return Float32Array.from({ length: n }, () => (random() + offset) * 2 * scale);
}

/** A float32 graph input or output. */
export function floatValueInfo(name: string, dims: number[]): ValueInfoProto {
  return valueInfo(name, DataType.FLOAT, dims);
}

/** A model of hand-built parts, as a user's FP32 export would reach the quantizer. */
export function handBuiltModel(graph: Omit<GraphParts, 'name'>): ModelProto {
  return modelProto({ producerName: 'kestrel', graph: { name: 'graph', ...graph } });
}

/** Kaiming-like scale so activations neither vanish nor explode through a deep stack. */
function convWeights(name: string, cout: number, cin: number, k: number, random: () => number): TensorProto[] {
  const std = Math.sqrt(2 / (cin * k * k));
  return [floatTensor(`${name}_w`, [cout, cin, k, k], randomArray(cout * cin * k * k, std * 1.7, random)), floatTensor(`${name}_b`, [cout], randomArray(cout, 0.1, random))];
}

export interface Built {
  nodes: NodeProto[];
  initializers: TensorProto[];
}

export function conv(b: Built, name: string, input: string, cin: number, cout: number, random: () => number, opts: { k?: number; stride?: number } = {}): string {
  const k = opts.k ?? 3;
  b.initializers.push(...convWeights(name, cout, cin, k, random));
  const p = (k - 1) / 2;
  b.nodes.push(nodeProto('Conv', [input, `${name}_w`, `${name}_b`], [name], { name, attributes: { kernel_shape: attr.ints([k, k]), pads: attr.ints([p, p, p, p]), strides: attr.ints([opts.stride ?? 1, opts.stride ?? 1]) } }));
  return name;
}

export function act(b: Built, kind: 'relu' | 'leaky' | 'none', input: string, name: string): string {
  if (kind === 'none') return input;
  b.nodes.push(kind === 'relu' ? nodeProto('Relu', [input], [name], { name }) : nodeProto('LeakyRelu', [input], [name], { name, attributes: { alpha: attr.float(0.1) } }));
  return name;
}

/** input [1, cin, size, size] → `layers` 3×3 convs of `channels` → output. */
export function convStack(opts: { layers: number; channels: number; size: number; cin?: number; activation?: 'relu' | 'leaky'; seed?: number }): ModelProto {
  const random = rng(opts.seed ?? 1);
  const b: Built = { nodes: [], initializers: [] };
  const cin = opts.cin ?? opts.channels;
  let x = 'input';
  for (let i = 0; i < opts.layers; i++) {
    const c = conv(b, `conv${i}`, x, i === 0 ? cin : opts.channels, opts.channels, random);
    x = i === opts.layers - 1 ? c : act(b, opts.activation ?? 'relu', c, `act${i}`);
  }
  b.nodes.push(nodeProto('Identity', [x], ['output'], { name: 'output' }));
  return handBuiltModel({
    nodes: b.nodes,
    initializers: b.initializers,
    inputs: [floatValueInfo('input', [1, cin, opts.size, opts.size])],
    outputs: [floatValueInfo('output', [1, opts.channels, opts.size, opts.size])],
  });
}

/** Smooth image-like inputs (neighbouring values correlate, as in real feature maps). */
export function imageLikeFeeds(count: number, dims: number[], seed: number, inputName = 'input'): TensorFeed[] {
  const random = rng(seed);
  const [, c, h, w] = dims;
  return Array.from({ length: count }, () => {
    const data = new Float32Array(c * h * w);
    for (let ch = 0; ch < c; ch++) {
      const fx = random() * 0.3;
      const fy = random() * 0.3;
      const phase = random() * 6;
      for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) data[ch * h * w + y * w + x] = Math.sin(x * fx + y * fy + phase) * 1.5 + (random() - 0.5) * 0.3;
    }
    return { [inputName]: { data, dims } };
  });
}

export async function runModel(model: ModelProto | Uint8Array | string, feed: TensorFeed, threads = 1): Promise<Record<string, Float32Array>> {
  const source = typeof model === 'string' ? model : model instanceof Uint8Array ? model : encodeModel(model);
  const session = await ort.InferenceSession.create(source as Uint8Array, { intraOpNumThreads: threads, interOpNumThreads: 1, logSeverityLevel: 3, extra: { session: { intra_op: { allow_spinning: '0' } } } });
  try {
    const inputs = Object.fromEntries(Object.entries(feed).map(([k, t]) => [k, new ort.Tensor('float32', t.data, [...t.dims])]));
    const out = await session.run(inputs);
    return Object.fromEntries(Object.entries(out).map(([k, v]) => [k, v.data as Float32Array]));
  } finally {
    await session.release();
  }
}

export function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

export function maxAbs(a: Float32Array): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]));
  return m;
}

/** A model with one image-like input [1, c, size, size] and the nodes `build` adds. */
export function smallModel(c: number, size: number, build: (b: Built, random: () => number) => Record<string, number[]>, seed = 1): ModelProto {
  const random = rng(seed);
  const b: Built = { nodes: [], initializers: [] };
  const outputs = build(b, random);
  return handBuiltModel({
    nodes: b.nodes,
    initializers: b.initializers,
    inputs: [floatValueInfo('input', [1, c, size, size])],
    outputs: Object.entries(outputs).map(([name, dims]) => floatValueInfo(name, dims)),
  });
}

export function node(b: Built, op: string, inputs: string[], output: string, attributes: Record<string, Attribute> = {}): string {
  b.nodes.push(nodeProto(op, inputs, [output], { name: output, attributes }));
  return output;
}

export function constant(b: Built, name: string, tensor: TensorProto): string {
  b.initializers.push({ ...tensor, name });
  return name;
}

export interface QuantizedFixture {
  dir: string;
  fp32: string;
  int8: string;
  result: Awaited<ReturnType<typeof import('@kestrel/quantize').quantizeModel>>;
  model: ModelProto;
}

/**
 * Writes `model` to a temp folder and quantizes it on `feeds`. Accuracy tests use 7-bit weights:
 * on x86 CPUs without VNNI (like the 2-core AMD test machine) full int8 weights can saturate
 * ORT's int16 pair sums, which would make the tolerance depend on the CPU the tests run on.
 */
export async function quantizeInTemp(model: ModelProto, feeds: TensorFeed[], options: Partial<import('@kestrel/quantize').QuantizeOptions> = {}): Promise<QuantizedFixture> {
  const { mkdtemp } = await import('node:fs/promises');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const { writeModel, readModel } = await import('@kestrel/core/onnx/io');
  const { quantizeModel } = await import('@kestrel/quantize');
  const dir = await mkdtemp(join(tmpdir(), 'kestrel-quant-'));
  const fp32 = join(dir, 'fp32.onnx');
  const int8 = join(dir, 'int8.onnx');
  await writeModel(model, fp32);
  const result = await quantizeModel(fp32, { output: int8, calibrationData: feeds, benchmark: false, reduceRange: true, method: 'minmax', ...options });
  return { dir, fp32, int8, result, model: await readModel(int8) };
}

/** Every node of the given op type in a model. */
export function nodesOf(model: ModelProto, op: string): NodeProto[] {
  return (model.graph?.node ?? []).filter((n) => n.opType === op);
}

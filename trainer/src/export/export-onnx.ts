// Checkpoint → ONNX for the agent. The graph is built from the same spec as the TF.js model:
// Conv (BatchNorm folded into weights and bias) → Relu, nearest Resize, Add, then the head tail
// that makes the `kestrel` decoder's contract: `scores` [1,N,C] after Sigmoid and `boxes` [1,N,4]
// = the expectation of each side's bin distribution (or Softplus(raw)) × stride, anchors stride by
// stride, row-major. Full kestrel.* metadata.
import { resolve } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { writeModel, type ModelProto } from '@kestrel/core/onnx/io';
import { writeMetadata, type KestrelMetadata } from '@kestrel/core/model/metadata';
import { KESTREL_VERSION } from '@kestrel/core/version';
import { KestrelError } from '@kestrel/core/util/errors';
import { GraphBuilder } from '@kestrel/core/onnx/graph-builder';
import { attr } from '@kestrel/core/onnx/build';
import { DataType, floatTensor, int64Tensor } from '@kestrel/core/onnx/tensors';
import type { KestrelModel } from '../model/build.js';
import { BN_EPSILON } from '../model/build.js';
import { levelSizes } from '../model/config.js';
import { detectorMetadata } from '../model/metadata.js';
import type { ConvNode } from '../model/spec.js';
import { loadCheckpoint, readCheckpointFile } from '../model/checkpoint.js';
import { ARCHITECTURE_KEY, architectureOf } from '../model/onnx-import.js';
import { selectBackend } from '../backend/select.js';
import { forEachKernelWeight, onnxKernelDims } from '../model/kernel-layout.js';
import { resizedSize } from '../model/graph-layers.js';

export interface ExportOptions {
  checkpoint: string;
  /** Default: beside the checkpoint (weights/best → weights/best.onnx), as Ultralytics writes best.onnx beside best.pt. */
  output?: string;
  /** Model name and version written into the metadata. */
  name?: string;
  version?: string;
  /** Evaluation figures to embed (kestrel.eval); default: the checkpoint's validation figures. */
  eval?: Record<string, unknown>;
}

export interface ExportReport {
  output: string;
  metadata: KestrelMetadata;
  nodes: number;
  anchors: number;
}

/** Where an export goes when no output is named: the checkpoint folder's name with .onnx, beside it. */
export function defaultExportPath(checkpoint: string): string {
  return `${resolve(checkpoint)}.onnx`;
}

export async function exportCheckpoint(o: ExportOptions): Promise<ExportReport> {
  const output = o.output ?? defaultExportPath(o.checkpoint);
  await selectBackend();
  const file = readCheckpointFile(o.checkpoint);
  const { model } = await loadCheckpoint(o.checkpoint);
  const meta = detectorMetadata(model.config, {
    name: o.name ?? 'kestrel-detector',
    version: o.version ?? new Date().toISOString().slice(0, 10),
    ...(file.state.datasetHash ? { trainedFrom: file.state.datasetHash } : {}),
    eval: o.eval ?? { split: 'val', ...(file.state.metrics ?? {}), epoch: file.state.epoch + 1 },
    // What `kestrel train --from model.onnx` rebuilds the network from (model/onnx-import.ts).
    extra: { [ARCHITECTURE_KEY]: JSON.stringify(architectureOf(model.config)) },
  });
  const proto = buildOnnx(model, meta);
  await writeModel(proto, output);
  model.net.dispose();
  return { output, metadata: meta, nodes: proto.graph!.node!.length, anchors: levelSizes(model.config).reduce((n, l) => n + l.rows * l.cols, 0) };
}

/** The ONNX ModelProto of a TF.js detector (weights read from the live model). */
export function buildOnnx(model: KestrelModel, meta: KestrelMetadata = detectorMetadata(model.config)): ModelProto {
  const { config, spec } = model;
  const g = new GraphBuilder();
  // Weights and shapes go in under the names given: the names are unique by construction.
  const float = (name: string, dims: number[], values: Float32Array | number[]) => g.initializer(name, floatTensor(name, dims, values));
  const int64 = (name: string, values: number[]) => g.initializer(name, int64Tensor(name, [values.length], values));
  const H = config.inputHeight, W = config.inputWidth;
  g.input('input', DataType.FLOAT, [1, 3, H, W]);
  // Spatial size and channels of every node's output, to compute TF's 'same' padding.
  const shapes = new Map<string, { h: number; w: number; c: number }>([['input', { h: H, w: W, c: 3 }]]);
  const layer = (name: string): tf.layers.Layer => model.net.getLayer(name);

  for (const node of spec.nodes) {
    if (node.op === 'conv') {
      const inShape = shapes.get(node.input)!;
      const { weight, bias } = foldedConv(node, layer(node.name), node.bn ? layer(`${node.name}_bn`) : undefined);
      const pads = node.pad !== undefined
        ? [[node.pad, node.pad], [node.pad, node.pad]]
        : [samePad(inShape.h, node.kernel, node.stride), samePad(inShape.w, node.kernel, node.stride)];
      const outSide = (n: number, p: number[]) => Math.floor((n + p[0] + p[1] - node.kernel) / node.stride) + 1;
      const out = { h: outSide(inShape.h, pads[0]), w: outSide(inShape.w, pads[1]), c: node.depthwise ? inShape.c : node.filters };
      const wName = float(`${node.name}.weight`, weight.dims, weight.data);
      const bName = float(`${node.name}.bias`, [out.c], bias);
      const conv = g.node('Conv', [node.input === 'input' ? 'input' : node.input, wName, bName], node.relu ? `${node.name}.conv` : node.name, {
        kernel_shape: attr.ints([node.kernel, node.kernel]),
        strides: attr.ints([node.stride, node.stride]),
        pads: attr.ints([pads[0][0], pads[1][0], pads[0][1], pads[1][1]]),
        group: attr.int(node.depthwise ? inShape.c : 1),
        dilations: attr.ints([1, 1]),
      }, node.name);
      if (node.relu && node.leakyAlpha !== undefined) g.node('LeakyRelu', [conv], node.name, { alpha: attr.float(node.leakyAlpha) }, `${node.name}.relu`);
      else if (node.relu) g.node('Relu', [conv], node.name, {}, `${node.name}.relu`);
      shapes.set(node.name, out);
    } else if (node.op === 'upsample') {
      const s = shapes.get(node.input)!;
      const scales = float(`${node.name}.scales`, [4], [1, 1, 2, 2]);
      g.node('Resize', [node.input, '', scales], node.name, { mode: attr.string('nearest'), coordinate_transformation_mode: attr.string('asymmetric'), nearest_mode: attr.string('floor') });
      shapes.set(node.name, { h: s.h * 2, w: s.w * 2, c: s.c });
    } else if (node.op === 'resize') {
      const s = shapes.get(node.input)!;
      const out = { h: resizedSize(s.h, node.factor)!, w: resizedSize(s.w, node.factor)!, c: s.c };
      const sizes = int64(`${node.name}.sizes`, [1, s.c, out.h, out.w]);
      g.node('Resize', [node.input, '', '', sizes], node.name, { mode: attr.string('linear'), coordinate_transformation_mode: attr.string('half_pixel') });
      shapes.set(node.name, out);
    } else if (node.op === 'maxpool') {
      const s = shapes.get(node.input)!;
      const side = (n: number) => Math.floor((n + 2 * node.pad - node.kernel) / node.stride) + 1;
      g.node('MaxPool', [node.input], node.name, {
        kernel_shape: attr.ints([node.kernel, node.kernel]),
        strides: attr.ints([node.stride, node.stride]),
        pads: attr.ints([node.pad, node.pad, node.pad, node.pad]),
      });
      shapes.set(node.name, { h: side(s.h), w: side(s.w), c: s.c });
    } else if (node.op === 'concat') {
      g.node('Concat', node.inputs, node.name, { axis: attr.int(1) });
      const parts = node.inputs.map((n) => shapes.get(n)!);
      shapes.set(node.name, { ...parts[0], c: parts.reduce((c, p) => c + p.c, 0) });
    } else {
      g.node('Add', node.inputs, node.name);
      shapes.set(node.name, shapes.get(node.inputs[0])!);
    }
  }

  // Head tail: per level [1,C,h,w] → [1,C,h·w], levels concatenated, then [1,N,C].
  const C = config.labels.length;
  const sizes = levelSizes(config);
  const N = sizes.reduce((n, l) => n + l.rows * l.cols, 0);
  const bins = config.boxBins;
  const clsFlat: string[] = [];
  const boxFlat: string[] = [];
  spec.levels.forEach((level, i) => {
    const hw = sizes[i].rows * sizes[i].cols;
    clsFlat.push(g.node('Reshape', [level.cls, int64(`${level.cls}.flat_shape`, [1, C, hw])], `${level.cls}.flat`));
    // Channels are side-major (side · bins + bin), as decodeHead reshapes them.
    const boxShape = bins > 0 ? [1, 4, bins, hw] : [1, 4, hw];
    boxFlat.push(g.node('Reshape', [level.box, int64(`${level.box}.flat_shape`, boxShape)], `${level.box}.flat`));
  });
  const cls = clsFlat.length > 1 ? g.node('Concat', clsFlat, 'cls_all', { axis: attr.int(2) }) : clsFlat[0];
  const box = boxFlat.length > 1 ? g.node('Concat', boxFlat, 'box_all', { axis: attr.int(bins > 0 ? 3 : 2) }) : boxFlat[0];
  const scores = g.node('Transpose', [g.node('Sigmoid', [cls], 'cls_sigmoid')], 'scores', { perm: attr.ints([0, 2, 1]) });
  const strideRow = new Float32Array(N);
  let a = 0;
  for (const l of sizes) for (let k = 0; k < l.rows * l.cols; k++) strideRow[a++] = l.stride;
  // Distances in strides: the expectation of each side's bin distribution, or softplus of one value.
  const inStrides = bins > 0
    ? g.node('ReduceSum', [
      g.node('Mul', [g.node('Softmax', [box], 'box_bins_softmax', { axis: attr.int(2) }), float('box_bin_distances', [1, 1, bins, 1], Array.from({ length: bins }, (_, k) => k))], 'box_bins_weighted'),
      int64('box_bins_axis', [2]),
    ], 'box_strides', { keepdims: attr.int(0) })
    : g.node('Softplus', [box], 'box_softplus');
  const dist = g.node('Mul', [inStrides, float('anchor_strides', [1, 1, N], strideRow)], 'box_pixels');
  const boxes = g.node('Transpose', [dist], 'boxes', { perm: attr.ints([0, 2, 1]) });
  g.output(scores, DataType.FLOAT, [1, N, C]);
  g.output(boxes, DataType.FLOAT, [1, N, 4]);

  const proto = g.toModel({ graphName: 'kestrel_detector', producerName: 'kestrel-trainer', producerVersion: KESTREL_VERSION });
  writeMetadata(proto, meta);
  return proto;
}

/** TF 'same' padding: total = max((out−1)·s + k − in, 0), the odd pixel at the end. */
function samePad(size: number, k: number, s: number): [number, number] {
  const out = Math.ceil(size / s);
  const total = Math.max((out - 1) * s + k - size, 0);
  return [Math.floor(total / 2), total - Math.floor(total / 2)];
}

/** Conv weights in ONNX layout [Cout, Cin/group, kh, kw] with BatchNorm folded in, and the bias. */
function foldedConv(node: ConvNode, conv: tf.layers.Layer, bn?: tf.layers.Layer): { weight: { dims: number[]; data: Float32Array }; bias: Float32Array } {
  const [kernelT, biasT] = conv.getWeights();
  const kernel = kernelT.dataSync() as Float32Array;
  const [, , cin, mult] = kernelT.shape as [number, number, number, number];
  const cout = node.depthwise ? cin * mult : mult;
  let scale = new Float32Array(cout).fill(1);
  let bias = biasT ? Float32Array.from(biasT.dataSync()) : new Float32Array(cout);
  if (bn) {
    const [gamma, beta, mean, variance] = bn.getWeights().map((t) => t.dataSync() as Float32Array);
    scale = Float32Array.from(gamma, (g, c) => g / Math.sqrt(variance[c] + BN_EPSILON));
    bias = Float32Array.from(beta, (b, c) => b + (bias[c] - mean[c]) * scale[c]);
  }
  if (!node.depthwise && kernelT.shape[3] !== node.filters) throw new KestrelError('E_EXPORT', `layer ${node.name}: kernel has ${kernelT.shape[3]} outputs, spec says ${node.filters}`);
  const dims = onnxKernelDims(node.depthwise, kernelT.shape);
  const data = new Float32Array(kernel.length);
  forEachKernelWeight(node.depthwise, kernelT.shape, (tfIndex, onnxIndex, out) => (data[onnxIndex] = kernel[tfIndex] * scale[out]));
  return { weight: { dims, data }, bias };
}

// Fine-tuning from an exported model: a device fleet keeps its .onnx files, not the training run
// that made them, so `kestrel train --from model.onnx` must work as `--from <checkpoint>` does.
//
// `kestrel export` folds every BatchNorm into its convolution and writes the detector's
// architecture as `kestrel.architecture`. Here the network is rebuilt from that, each conv gets
// the folded weights, and each BatchNorm starts as the identity plus the folded bias (exact in
// inference). Training normalises by batch statistics, though, which would rescale every folded
// conv's output on the first step; `recalibrateBatchNorm` measures the real per-channel statistics
// on a batch of the new data and sets γ, β and the running averages so the network computes the
// same function in inference and (on that data) in training: fine-tuning starts where the exported
// model was.
import { readFileSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs';
import { decodeModel, type ModelProto } from '@kestrel/core/onnx/io';
import { DataType, tensorDims, tensorToFloat32 } from '@kestrel/core/onnx/tensors';
import { readMetadata } from '@kestrel/core/model/metadata';
import { KestrelError } from '@kestrel/core/util/errors';
import { buildDetector, BN_EPSILON, type KestrelModel } from './build.js';
import { resolveDetectorConfig, withSavedDefaults, type DetectorConfig } from './config.js';
import type { ConvNode } from './spec.js';
import { rebuildOnnxGraph } from './onnx-graph.js';
import type { KestrelMetadata } from '@kestrel/core/model/metadata';
import { forEachKernelWeight, onnxKernelDims } from './kernel-layout.js';

/** The metadata key `kestrel export` writes the architecture under (without `kestrel.`). */
export const ARCHITECTURE_KEY = 'architecture';

export type Architecture = Omit<DetectorConfig, 'labels' | 'inputHeight' | 'inputWidth'>;

export function architectureOf(config: DetectorConfig): Architecture {
  const { labels: _labels, inputHeight: _h, inputWidth: _w, ...arch } = config;
  return arch;
}

export interface ImportedDetector {
  model: KestrelModel;
  /** Weights left as initialised: the class outputs when the class list changed. */
  reinitialised: string[];
  /** The exported model's own classes. */
  labels: string[];
  /** Whether the network has BatchNorms that export folded away (to measure again on the new data). */
  foldedBatchNorm: boolean;
}

/**
 * Rebuilds a Kestrel detector from an ONNX file made by `kestrel export`, or from an imported
 * detector whose graph the trainer can rebuild (NanoDet: model/onnx-graph.ts); `overrides` change the
 * classes (the class outputs are then initialised afresh) or the input size (weights carry over:
 * the network is fully convolutional).
 */
export function loadOnnxDetector(path: string, overrides: Partial<Pick<DetectorConfig, 'labels' | 'inputHeight' | 'inputWidth'>> = {}): ImportedDetector {
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch (err) {
    throw new KestrelError('E_FROM', `cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  const proto = decodeModel(bytes, path);
  const meta = readMetadata(proto, undefined, path);
  const archText = meta.extra?.[ARCHITECTURE_KEY];
  if (meta.decoder !== 'kestrel' || !archText) return loadImportedGraph(proto, meta, path, overrides);
  let arch: Architecture;
  try {
    arch = JSON.parse(archText) as Architecture;
  } catch {
    throw new KestrelError('E_FROM', `${path}: kestrel.${ARCHITECTURE_KEY} is not valid JSON`);
  }
  const config = resolveDetectorConfig({ ...withSavedDefaults(arch), labels: meta.labels, inputHeight: meta.input.height, inputWidth: meta.input.width, ...overrides });
  const model = buildDetector(config);
  const weights = initializers(proto);
  const reinitialised: string[] = [];
  for (const node of model.spec.nodes) {
    if (node.op !== 'conv') continue;
    const w = weights.get(`${node.name}.weight`);
    const b = weights.get(`${node.name}.bias`);
    if (!w || !b) throw new KestrelError('E_FROM', `${path} has no weights for layer ${node.name}: it was exported from a different architecture than its kestrel.${ARCHITECTURE_KEY} says`);
    const conv = model.net.getLayer(node.name);
    const kernelShape = conv.getWeights()[0].shape;
    const kernel = toTfKernel(node, w.dims, w.data, kernelShape);
    if (!kernel) {
      reinitialised.push(node.name);
      continue;
    }
    const values = node.bn ? [kernel] : [kernel, tf.tensor1d(b.data)];
    conv.setWeights(values);
    tf.dispose(values);
    if (node.bn) {
      const c = b.data.length;
      const bnValues = [tf.ones([c]), tf.tensor1d(b.data), tf.zeros([c]), tf.fill([c], 1 - BN_EPSILON)];
      model.net.getLayer(`${node.name}_bn`).setWeights(bnValues);
      tf.dispose(bnValues);
    }
  }
  return { model, reinitialised, labels: meta.labels, foldedBatchNorm: true };
}

/**
 * An imported detector (models/nanodet-416.onnx) rebuilt from its graph (model/onnx-graph.ts),
 * every conv given its ONNX weights. The same class list keeps the class head; a different one
 * (even of the same length: a class's weights mean that class) leaves it as initialised, with the
 * class-prior bias, while backbone, neck and box head carry over.
 */
function loadImportedGraph(proto: ModelProto, meta: KestrelMetadata, path: string, overrides: Partial<Pick<DetectorConfig, 'labels' | 'inputHeight' | 'inputWidth'>>): ImportedDetector {
  const rebuilt = rebuildOnnxGraph(proto, meta, path);
  const labels = overrides.labels ?? meta.labels;
  const sameClasses = labels.length === meta.labels.length && labels.every((l, i) => l === meta.labels[i]);
  const config = resolveDetectorConfig({
    labels,
    inputHeight: overrides.inputHeight ?? rebuilt.inputHeight,
    inputWidth: overrides.inputWidth ?? rebuilt.inputWidth,
    strides: rebuilt.strides,
    boxBins: rebuilt.boxBins,
    network: rebuilt.network,
  });
  const model = buildDetector(config);
  const classHeads = new Set(rebuilt.network.levels.map((l) => l.cls));
  const reinitialised: string[] = [];
  for (const node of model.spec.nodes) {
    if (node.op !== 'conv' || node.frozen) continue;
    if (!sameClasses && classHeads.has(node.name)) {
      reinitialised.push(node.name);
      continue;
    }
    const w = rebuilt.weights.get(node.name)!;
    const conv = model.net.getLayer(node.name);
    const kernel = toTfKernel(node, w.dims, w.data, conv.getWeights()[0].shape);
    if (!kernel) throw new KestrelError('E_FROM', `${path}: layer ${node.name}'s weights [${w.dims.join(',')}] do not fit the rebuilt layer`);
    const values = [kernel, tf.tensor1d(w.bias)];
    conv.setWeights(values);
    tf.dispose(values);
  }
  return { model, reinitialised, labels: meta.labels, foldedBatchNorm: false };
}

/**
 * Sets every BatchNorm so that it normalises by the statistics of its input on `images` and
 * scales back: γ = √(var + ε), β = bias + mean, running mean/var = mean/var. The network's
 * inference output is unchanged; training-mode BatchNorm on similar batches now computes the same.
 * Only meaningful right after `loadOnnxDetector` (BatchNorms at identity + bias).
 */
export function recalibrateBatchNorm(model: KestrelModel, images: tf.Tensor4D): number {
  const convs = model.spec.nodes.filter((n): n is ConvNode => n.op === 'conv' && n.bn);
  if (convs.length === 0) return 0;
  const probe = tf.model({ inputs: model.net.inputs, outputs: convs.map((n) => model.net.getLayer(n.name).output as tf.SymbolicTensor) });
  const outputs = probe.predict(images) as tf.Tensor | tf.Tensor[];
  const list = Array.isArray(outputs) ? outputs : [outputs];
  convs.forEach((node, i) => {
    const bn = model.net.getLayer(`${node.name}_bn`);
    const [, beta] = bn.getWeights();
    const next = tf.tidy(() => {
      const { mean, variance } = tf.moments(list[i], [0, 1, 2]);
      return [tf.sqrt(tf.add(variance, BN_EPSILON)), tf.add(beta, mean), mean, variance];
    });
    bn.setWeights(next);
    tf.dispose(next);
  });
  tf.dispose(list);
  return convs.length;
}

interface FloatInitializer {
  dims: number[];
  data: Float32Array;
}

/** Every float initializer (float16/double weights converted), by name. */
function initializers(proto: ModelProto): Map<string, FloatInitializer> {
  const out = new Map<string, FloatInitializer>();
  for (const t of proto.graph?.initializer ?? []) {
    if (!t.name || ![DataType.FLOAT, DataType.FLOAT16, DataType.DOUBLE].includes(t.dataType ?? 0)) continue;
    out.set(t.name, { dims: tensorDims(t), data: tensorToFloat32(t) });
  }
  return out;
}

/** ONNX [Cout, Cin/group, kh, kw] → TF.js [kh, kw, Cin, mult]; undefined when the shapes do not fit (a resized class head). */
function toTfKernel(node: ConvNode, dims: number[], data: Float32Array, tfShape: number[]): tf.Tensor | undefined {
  const want = onnxKernelDims(node.depthwise, tfShape);
  if (dims.length !== 4 || want.some((d, i) => d !== dims[i])) return undefined;
  const out = new Float32Array(data.length);
  forEachKernelWeight(node.depthwise, tfShape, (tfIndex, onnxIndex) => (out[tfIndex] = data[onnxIndex]));
  return tf.tensor4d(out, tfShape as [number, number, number, number]);
}

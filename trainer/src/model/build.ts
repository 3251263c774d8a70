// The TF.js side of the detector: a tf.LayersModel built from the spec (so checkpoints are
// ordinary LayersModel artifacts), plus the head decoding that turns its per-level maps into the
// export contract's `scores` and `boxes`.
import * as tf from '@tensorflow/tfjs';
import { detectorSpec, type DetectorSpec } from './spec.js';
import { levelSizes, type DetectorConfig } from './config.js';
import { fastBatchNormalization } from './batch-norm.js';
import { HalfPixelResize, SymmetricMaxPool } from './graph-layers.js';

/** BatchNorm momentum: short training runs need the running statistics to keep up. */
export const BN_MOMENTUM = 0.97;
export const BN_EPSILON = 1e-3;

export interface KestrelModel {
  config: DetectorConfig;
  spec: DetectorSpec;
  /** Outputs: per level (ascending stride) class logits [B,h,w,C] then box values [B,h,w,4]. */
  net: tf.LayersModel;
}

export function buildDetector(config: DetectorConfig, seed?: number): KestrelModel {
  const spec = detectorSpec(config);
  const input = tf.input({ shape: [config.inputHeight, config.inputWidth, 3], name: spec.input });
  const out = new Map<string, tf.SymbolicTensor>([[spec.input, input]]);
  let k = 0;
  const init = (): tf.serialization.Serializable => tf.initializers.heNormal({ seed: seed === undefined ? undefined : seed + k++ });
  for (const node of spec.nodes) {
    if (node.op === 'conv') {
      // 'same' unless the node pads explicitly in a way 'same' does not (stride 2: TF puts the odd pixel at the end).
      const samePads = node.pad === undefined || (node.stride === 1 && 2 * node.pad === node.kernel - 1);
      const common = { name: node.name, kernelSize: node.kernel, strides: node.stride, padding: samePads ? 'same' as const : 'valid' as const, useBias: !node.bn, trainable: !node.frozen };
      const biasInitializer = node.biasInit !== undefined ? tf.initializers.constant({ value: node.biasInit }) : 'zeros';
      const layer = node.depthwise
        ? tf.layers.depthwiseConv2d({ ...common, depthwiseInitializer: init() as never, biasInitializer })
        : tf.layers.conv2d({ ...common, filters: node.filters, kernelInitializer: (node.bn || node.relu ? init() : tf.initializers.randomNormal({ stddev: 0.01, seed: seed === undefined ? undefined : seed + k++ })) as never, biasInitializer });
      let x = out.get(node.input)!;
      if (!samePads && node.pad) x = tf.layers.zeroPadding2d({ name: `${node.name}_pad`, padding: node.pad }).apply(x) as tf.SymbolicTensor;
      let y = layer.apply(x) as tf.SymbolicTensor;
      if (node.bn) y = fastBatchNormalization({ name: `${node.name}_bn`, momentum: BN_MOMENTUM, epsilon: BN_EPSILON }).apply(y) as tf.SymbolicTensor;
      if (node.relu) {
        y = (node.leakyAlpha !== undefined
          ? tf.layers.leakyReLU({ name: `${node.name}_relu`, alpha: node.leakyAlpha })
          : tf.layers.reLU({ name: `${node.name}_relu` })).apply(y) as tf.SymbolicTensor;
      }
      out.set(node.name, y);
    } else if (node.op === 'upsample') {
      out.set(node.name, tf.layers.upSampling2d({ name: node.name, size: [2, 2], interpolation: 'nearest' }).apply(out.get(node.input)!) as tf.SymbolicTensor);
    } else if (node.op === 'maxpool') {
      out.set(node.name, new SymmetricMaxPool({ name: node.name, kernel: node.kernel, stride: node.stride, pad: node.pad }).apply(out.get(node.input)!) as tf.SymbolicTensor);
    } else if (node.op === 'resize') {
      out.set(node.name, new HalfPixelResize({ name: node.name, factor: node.factor }).apply(out.get(node.input)!) as tf.SymbolicTensor);
    } else if (node.op === 'concat') {
      out.set(node.name, tf.layers.concatenate({ name: node.name, axis: -1 }).apply(node.inputs.map((n) => out.get(n)!)) as tf.SymbolicTensor);
    } else {
      out.set(node.name, tf.layers.add({ name: node.name }).apply(node.inputs.map((n) => out.get(n)!)) as tf.SymbolicTensor);
    }
  }
  const outputs = spec.levels.flatMap((l) => [out.get(l.cls)!, out.get(l.box)!]);
  const net = tf.model({ inputs: input, outputs, name: 'kestrel_detector' });
  for (const node of spec.nodes) if (node.op === 'conv' && node.frozen && node.fixedWeights) setFixedWeights(net.getLayer(node.name), node.fixedWeights);
  return { config, spec, net };
}

export interface HeadOutputs {
  /** [B, N, C] class logits (sigmoid gives the exported `scores`). */
  logits: tf.Tensor3D;
  /** [B, N, 4] distances left, top, right, bottom in input pixels (the exported `boxes`). */
  distances: tf.Tensor3D;
  /** [B, N, 4, bins] each side's distance logits, for distribution focal loss (boxBins > 0 only). */
  sideLogits?: tf.Tensor4D;
}

/**
 * Level maps → the contract's layout: anchors stride by stride, row-major. Distances in pixels:
 * with bins, softmax over each side's bins · (0 … bins−1) × stride (the expectation of the
 * distribution); without, softplus(raw) × stride (positive and smooth).
 */
export function decodeHead(model: KestrelModel, maps: tf.Tensor[]): HeadOutputs {
  const C = model.config.labels.length;
  const bins = model.config.boxBins;
  const sizes = levelSizes(model.config);
  const logits: tf.Tensor[] = [];
  const distances: tf.Tensor[] = [];
  const sideLogits: tf.Tensor[] = [];
  sizes.forEach(({ stride, rows, cols }, i) => {
    const batch = maps[2 * i].shape[0];
    logits.push(tf.reshape(maps[2 * i], [batch, rows * cols, C]));
    const raw = tf.reshape(maps[2 * i + 1], bins > 0 ? [batch, rows * cols, 4, bins] : [batch, rows * cols, 4]);
    if (bins > 0) sideLogits.push(raw);
    const inStrides = bins > 0 ? tf.sum(tf.mul(tf.softmax(raw), binDistances(bins)), 3) : tf.softplus(raw);
    distances.push(tf.mul(inStrides, stride));
  });
  return {
    logits: tf.concat(logits, 1) as tf.Tensor3D,
    distances: tf.concat(distances, 1) as tf.Tensor3D,
    ...(bins > 0 ? { sideLogits: tf.concat(sideLogits, 1) as tf.Tensor4D } : {}),
  };
}

/** 0, 1, … bins−1: the distance, in strides, each bin stands for. */
export function binDistances(bins: number): tf.Tensor1D {
  return tf.range(0, bins, 1, 'float32') as tf.Tensor1D;
}

/** Forward pass: images [B,H,W,3] scaled 0..1 → head outputs. */
export function forward(model: KestrelModel, images: tf.Tensor4D, training: boolean): HeadOutputs {
  const maps = model.net.apply(images, { training }) as tf.Tensor[];
  return decodeHead(model, maps);
}

/** Anchor points [N, 2] (x, y) and their strides [N], in the contract's order. */
export function anchorPoints(config: DetectorConfig): { points: Float32Array; strides: Float32Array } {
  const sizes = levelSizes(config);
  const n = sizes.reduce((s, l) => s + l.rows * l.cols, 0);
  const points = new Float32Array(n * 2);
  const strides = new Float32Array(n);
  let a = 0;
  for (const { stride, rows, cols } of sizes) {
    for (let r = 0; r < rows; r++) {
      for (let c = 0; c < cols; c++, a++) {
        points[2 * a] = (c + 0.5) * stride;
        points[2 * a + 1] = (r + 0.5) * stride;
        strides[a] = stride;
      }
    }
  }
  return { points, strides };
}

/** A frozen conv's weights as the spec gives them: TF.js kernel [kh,kw,cin,cout] flattened, and the bias. */
function setFixedWeights(layer: tf.layers.Layer, w: { kernel: number[]; bias: number[] }): void {
  const [kernel] = layer.getWeights();
  const values = [tf.tensor(w.kernel, kernel.shape), tf.tensor1d(w.bias)];
  layer.setWeights(values);
  tf.dispose(values);
}

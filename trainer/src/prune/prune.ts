// Structured channel pruning: each prunable conv (structure.ts) keeps its most important output
// channels and a smaller detector is built with only those (real fewer channels: the config's
// `channels` override), the kept weights copied in — the conv's kernel columns and BatchNorm
// parameters, the same channels of the depthwise convs they pass through, and the matching input
// rows of every conv that reads them.
//
// Importance is measured per layer: the BatchNorm scale |γ| (Network Slimming, Liu et al. 2017:
// a channel whose γ is near 0 outputs about its β whatever the input), or the L1 norm of the
// channel's filter (Li et al. 2017: a small filter gives BN(≈0)). Either way a removed channel is
// taken to have put out that constant, and what the constant added to each reader is folded into
// the reader's BatchNorm mean (or bias), so removing a channel whose γ is 0 changes nothing
// wherever the reader's kernel stays inside the image (everywhere for the 1×1 convs; the 3×3 ones
// differ on the border, where the padding saw zeros instead of the constant).
import * as tf from '@tensorflow/tfjs';
import { KestrelError } from '@kestrel/core/util/errors';
import { BN_EPSILON, buildDetector, type KestrelModel } from '../model/build.js';
import { resolveDetectorConfig, type DetectorConfig } from '../model/config.js';
import type { ConvNode } from '../model/spec.js';
import { convNode, firstInput, prunableLayers, readersOf, type PrunableLayer } from './structure.js';

export const CRITERIA = ['bn', 'l1'] as const;
export type Criterion = (typeof CRITERIA)[number];

/** No layer is thinned below this many channels (or below what it has, if fewer). */
export const DEFAULT_MIN_CHANNELS = 4;

export interface PruneOptions {
  /** Share of each prunable layer's output channels to remove, in [0, 1). */
  sparsity: number;
  criterion: Criterion;
  minChannels?: number;
  /**
   * Round each layer's kept channels up to a multiple of this (default 1: the exact share), for
   * runtimes that work in channel blocks (ONNX Runtime's CPU convolutions use blocks of 8; on the
   * factory detector rounding to 8 showed no gain beyond the timing noise, see the README).
   */
  multiple?: number;
}

export interface PrunedLayer {
  name: string;
  before: number;
  after: number;
}

export interface PruneResult {
  model: KestrelModel;
  layers: PrunedLayer[];
}

export function checkSparsity(s: number, what = 'sparsity'): number {
  if (!(Number.isFinite(s) && s >= 0 && s < 1)) throw new KestrelError('E_PRUNE_OPTIONS', `${what} must be a share in [0, 1) of each layer's channels, got ${s}`);
  return s;
}

export function checkCriterion(c: string, what = 'criterion'): Criterion {
  if (!(CRITERIA as readonly string[]).includes(c)) throw new KestrelError('E_PRUNE_OPTIONS', `${what} must be ${CRITERIA.join(' or ')}, got "${c}"`);
  return c as Criterion;
}

/** Channels a layer of `channels` keeps at `sparsity`. */
export function keptCount(channels: number, sparsity: number, minChannels = DEFAULT_MIN_CHANNELS, multiple = 1): number {
  const keep = Math.max(Math.min(minChannels, channels), channels - Math.round(channels * sparsity));
  return Math.min(channels, Math.ceil(keep / multiple) * multiple);
}

export function checkMultiple(m: number, what = 'multiple'): number {
  if (!(Number.isInteger(m) && m >= 1)) throw new KestrelError('E_PRUNE_OPTIONS', `${what} must be a positive whole number of channels, got ${m}`);
  return m;
}

/** One score per output channel of `layer`: higher is more important. */
export function channelImportance(model: KestrelModel, layer: string, criterion: Criterion): Float32Array {
  if (criterion === 'bn') return Float32Array.from(model.net.getLayer(`${layer}_bn`).getWeights()[0].dataSync(), Math.abs);
  const kernel = model.net.getLayer(layer).getWeights()[0];
  const cout = kernel.shape[3]!;
  const data = kernel.dataSync();
  const scores = new Float32Array(cout);
  for (let i = 0; i < data.length; i++) scores[i % cout] += Math.abs(data[i]);
  return scores;
}

/** The `keep` highest-scoring channels in ascending order (ties keep the lower index). */
export function keptChannels(scores: Float32Array, keep: number): number[] {
  const order = Array.from(scores.keys()).sort((a, b) => scores[b] - scores[a] || a - b);
  return order.slice(0, keep).sort((a, b) => a - b);
}

/** A layer's weights as plain arrays, with their shapes. */
interface Weights {
  values: Float32Array[];
  shapes: number[][];
}

export function pruneDetector(model: KestrelModel, o: PruneOptions): PruneResult {
  checkSparsity(o.sparsity);
  checkCriterion(o.criterion);
  if (o.multiple !== undefined) checkMultiple(o.multiple);
  refuseImported(model.config);
  const { spec } = model;
  const read = (name: string): Weights => {
    const ws = model.net.getLayer(name).getWeights();
    return { values: ws.map((w) => Float32Array.from(w.dataSync())), shapes: ws.map((w) => [...w.shape]) };
  };
  const weights = new Map<string, Weights>();
  for (const node of spec.nodes) {
    if (node.op !== 'conv') continue;
    weights.set(node.name, read(node.name));
    if (node.bn) weights.set(`${node.name}_bn`, read(`${node.name}_bn`));
  }

  const kept = new Map<string, number[]>();
  const layers: PrunedLayer[] = [];
  const channels: Record<string, number> = { ...model.config.channels };
  const readers = readersOf(spec);
  for (const layer of prunableLayers(spec)) {
    const keep = keptCount(layer.channels, o.sparsity, o.minChannels, o.multiple);
    layers.push({ name: layer.name, before: layer.channels, after: keep });
    if (keep === layer.channels) continue;
    const k = keptChannels(channelImportance(model, layer.name, o.criterion), keep);
    kept.set(layer.name, k);
    channels[layer.name] = keep;
    compensate(layer, removedConstants(convNode(spec, layer.name), weights, k, o.criterion), weights, readers);
  }

  const config = resolveDetectorConfig({ ...model.config, channels });
  const pruned = buildDetector(config);
  // Channels each node's output keeps (undefined: all): a depthwise conv, an upsample or an add
  // keeps its input's.
  const keptOut = new Map<string, number[] | undefined>();
  for (const node of spec.nodes) {
    if (node.op === 'conv') {
      keptOut.set(node.name, node.depthwise ? keptOut.get(node.input) : kept.get(node.name));
      const inKept = keptOut.get(node.input);
      const outKept = keptOut.get(node.name);
      const w = weights.get(node.name)!;
      const values: tf.Tensor[] = [gatherKernel(w.values[0], w.shapes[0], node.depthwise ? undefined : inKept, node.depthwise ? inKept : outKept, node.depthwise)];
      if (w.values.length > 1) values.push(gather1d(w.values[1], outKept));
      setLayer(pruned, node.name, values);
      if (node.bn) setLayer(pruned, `${node.name}_bn`, weights.get(`${node.name}_bn`)!.values.map((v) => gather1d(v, outKept)));
    } else {
      keptOut.set(node.name, keptOut.get(firstInput(node)));
    }
  }
  return { model: pruned, layers };
}

/**
 * What each removed channel is taken to put out: with |γ| ranking, its β (γ ≈ 0), with L1
 * ranking, BN of a zero conv output (filter ≈ 0); after the ReLU when the layer has one.
 */
function removedConstants(node: ConvNode, weights: Map<string, Weights>, keptIdx: number[], criterion: Criterion): Map<number, number> {
  const [gamma, beta, mean, variance] = weights.get(`${node.name}_bn`)!.values;
  const keptSet = new Set(keptIdx);
  const out = new Map<number, number>();
  for (let c = 0; c < gamma.length; c++) {
    if (keptSet.has(c)) continue;
    const v = criterion === 'bn' ? beta[c] : beta[c] - (mean[c] * gamma[c]) / Math.sqrt(variance[c] + BN_EPSILON);
    out.set(c, node.relu ? Math.max(0, v) : v);
  }
  return out;
}

/**
 * Folds the constants the removed channels put out into their readers: through each depthwise
 * conv (a constant in gives a constant out, away from the border), then into each dense
 * reader's BatchNorm mean (or its bias when it has none), in the unpruned index space.
 */
function compensate(layer: PrunableLayer, constants: Map<number, number>, weights: Map<string, Weights>, readers: ReturnType<typeof readersOf>): void {
  const visit = (from: string, values: Map<number, number>): void => {
    for (const r of readers.get(from) ?? []) {
      if (r.op !== 'conv') continue;
      const w = weights.get(r.name)!;
      const [kh, kw, cin, mult] = w.shapes[0];
      const kernel = w.values[0];
      if (r.depthwise) {
        const next = new Map<number, number>();
        for (const [c, u] of values) {
          let sum = 0;
          for (let p = 0; p < kh * kw; p++) sum += kernel[p * cin + c];
          let z = u * sum;
          if (r.bn) {
            const [g, b, m, v] = weights.get(`${r.name}_bn`)!.values;
            z = ((z - m[c]) * g[c]) / Math.sqrt(v[c] + BN_EPSILON) + b[c];
          } else if (w.values[1]) z += w.values[1][c];
          next.set(c, r.relu ? Math.max(0, z) : z);
        }
        visit(r.name, next);
        continue;
      }
      const delta = new Float32Array(mult);
      for (const [c, u] of values) {
        if (u === 0) continue;
        for (let p = 0; p < kh * kw; p++) for (let m = 0; m < mult; m++) delta[m] += u * kernel[(p * cin + c) * mult + m];
      }
      if (r.bn) {
        const mean = weights.get(`${r.name}_bn`)!.values[2];
        for (let m = 0; m < mult; m++) mean[m] -= delta[m];
      } else {
        const bias = w.values[1];
        for (let m = 0; m < mult; m++) bias[m] += delta[m];
      }
    }
  };
  visit(layer.name, constants);
}

/** TF.js kernel [kh, kw, cin, mult] keeping input channels `inKept` and outputs `outKept` (depthwise: cin by `outKept`). */
function gatherKernel(data: Float32Array, [kh, kw, cin, mult]: number[], inKept: number[] | undefined, outKept: number[] | undefined, depthwise?: boolean): tf.Tensor4D {
  const ins = depthwise ? (outKept ?? range(cin)) : (inKept ?? range(cin));
  const outs = depthwise ? range(mult) : (outKept ?? range(mult));
  const out = new Float32Array(kh * kw * ins.length * outs.length);
  let k = 0;
  for (let p = 0; p < kh * kw; p++) for (const i of ins) for (const m of outs) out[k++] = data[(p * cin + i) * mult + m];
  return tf.tensor4d(out, [kh, kw, ins.length, outs.length]);
}

function gather1d(data: Float32Array, keep: number[] | undefined): tf.Tensor1D {
  return tf.tensor1d(keep ? Float32Array.from(keep, (i) => data[i]) : data);
}

function setLayer(model: KestrelModel, name: string, values: tf.Tensor[]): void {
  const layer = model.net.getLayer(name);
  const want = layer.weights.map((w) => w.shape.join('x'));
  const got = values.map((v) => v.shape.join('x'));
  if (want.join() !== got.join()) throw new KestrelError('E_PRUNE', `layer ${name}: pruned weights ${got.join(', ')} do not fit the rebuilt layer's ${want.join(', ')}`);
  layer.setWeights(values);
  tf.dispose(values);
}

function range(n: number): number[] {
  return Array.from({ length: n }, (_, i) => i);
}

/**
 * Pruning knows the Kestrel detector's layout (which layers feed adds and head outputs); a network
 * rebuilt from an imported ONNX graph (NanoDet's concats and resizes) is refused, not half-pruned.
 */
export function refuseImported(config: Pick<DetectorConfig, 'network'>, what = 'this model'): void {
  if (config.network) {
    throw new KestrelError('E_PRUNE_OPTIONS', `${what} is a network rebuilt from an imported ONNX graph (${config.network.family}); kestrel prune prunes Kestrel detectors (kestrel train without --from an imported model)`);
  }
}

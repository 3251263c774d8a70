// The detector as a list of named operations. Both the TF.js model (training) and the ONNX
// export are built from this one list, so the two cannot drift apart.
import { KestrelError } from '@kestrel/core/util/errors';
import { BASE_CHANNELS, boxChannels, scaledChannels, type DetectorConfig } from './config.js';

/** Conv (+ folded-at-export BatchNorm) (+ ReLU). */
export interface ConvNode {
  op: 'conv';
  name: string;
  input: string;
  filters: number;
  kernel: number;
  stride: number;
  /** Depthwise (filters = input channels). */
  depthwise?: boolean;
  bn: boolean;
  relu: boolean;
  /** Initial bias (only without BN), e.g. the class prior. */
  biasInit?: number;
  /** With `relu`: LeakyReLU with this slope for negatives instead of ReLU (rebuilt NanoDet). */
  leakyAlpha?: number;
  /**
   * Explicit symmetric zero padding on every side, as ONNX writes it; absent means TF 'same'
   * (the odd pixel of a stride-2 conv at the end), which Kestrel's own detector uses.
   */
  pad?: number;
  /** Fixed weights that training leaves alone (the input normalisation of a rebuilt model). */
  frozen?: boolean;
  /** The frozen conv's weights: TF.js kernel [kh, kw, cin, cout] flattened, and the bias. */
  fixedWeights?: { kernel: number[]; bias: number[] };
}

/** Max pooling with explicit symmetric padding (padded cells never win). */
export interface MaxPoolNode {
  op: 'maxpool';
  name: string;
  input: string;
  kernel: number;
  stride: number;
  pad: number;
}

/** Channel concatenation (NHWC: the last axis; ONNX: axis 1). */
export interface ConcatNode {
  op: 'concat';
  name: string;
  inputs: string[];
}

/**
 * Bilinear resize by a fixed factor (2 up, 0.5 down), half-pixel centres: ONNX Resize
 * mode=linear, coordinate_transformation_mode=half_pixel, and TF's halfPixelCenters.
 */
export interface ResizeNode {
  op: 'resize';
  name: string;
  input: string;
  factor: number;
}

export interface UpsampleNode {
  op: 'upsample';
  name: string;
  input: string;
}

export interface AddNode {
  op: 'add';
  name: string;
  inputs: [string, string];
}

export type SpecNode = ConvNode | UpsampleNode | AddNode | MaxPoolNode | ConcatNode | ResizeNode;

/**
 * A network the trainer rebuilt from an imported ONNX graph (see model/onnx-graph.ts), stored in
 * the detector config so checkpoints, replicas and exports rebuild the same one. The class
 * outputs' filters follow the config's labels.
 */
export interface ImportedNetwork {
  /** The family it was recognised as, and the model it came from (for the run's records). */
  family: 'nanodet';
  source: string;
  nodes: SpecNode[];
  levels: HeadLevel[];
}

export interface HeadLevel {
  stride: number;
  /** Node producing class logits [.., C]. */
  cls: string;
  /** Node producing raw box values [.., boxChannels]: per side one softplus value or `boxBins` logits (see build.ts decodeHead). */
  box: string;
}

export interface DetectorSpec {
  input: string;
  nodes: SpecNode[];
  levels: HeadLevel[];
}

/** Focal-loss practice: start every class at probability 0.01, so the many negatives do not swamp training. */
export const CLASS_PRIOR = 0.01;
export const CLASS_BIAS_INIT = -Math.log((1 - CLASS_PRIOR) / CLASS_PRIOR);

export function detectorSpec(cfg: DetectorConfig): DetectorSpec {
  if (cfg.network) return importedSpec(cfg.network, cfg.labels.length);
  const nodes: SpecNode[] = [];
  const w = cfg.width;
  // Channels each node puts out: a depthwise conv has its input's, which a pruned layer before
  // it may have changed (cfg.channels).
  const outChannels = new Map<string, number>([['input', 3]]);
  const conv = (name: string, input: string, filters: number, kernel: number, stride: number, extra: Partial<ConvNode> = {}): string => {
    const f = extra.depthwise ? outChannels.get(input)! : (cfg.channels?.[name] ?? filters);
    nodes.push({ op: 'conv', name, input, filters: f, kernel, stride, bn: true, relu: true, ...extra });
    outChannels.set(name, f);
    return name;
  };
  /** A 3×3 block: plain conv, or depthwise 3×3 + pointwise 1×1. */
  const block = (name: string, input: string, inChannels: number, filters: number, stride: number): string => {
    if (cfg.block === 'dws') {
      const dw = conv(`${name}_dw`, input, inChannels, 3, stride, { depthwise: true });
      return conv(`${name}_pw`, dw, filters, 1, 1);
    }
    return conv(name, input, filters, 3, stride);
  };

  const stem = scaledChannels(BASE_CHANNELS.stem, w);
  let x = conv('stem', 'input', stem, 3, 2);
  let channels = stem;
  const features = new Map<number, { node: string; channels: number }>();
  BASE_CHANNELS.stages.forEach((base, i) => {
    const stride = 4 << i;
    if (stride > cfg.strides[cfg.strides.length - 1]) return;
    const c = scaledChannels(base, w);
    x = block(`s${stride}_down`, x, channels, c, 2);
    channels = c;
    for (let r = 0; r < cfg.depth[i]; r++) x = block(`s${stride}_c${r + 1}`, x, c, c, 1);
    features.set(stride, { node: x, channels: c });
  });

  // FPN-lite neck: 1×1 laterals to one width, then top-down nearest-upsample and add.
  const neck = scaledChannels(BASE_CHANNELS.neck, w);
  const strides = [...cfg.strides].reverse();
  const merged = new Map<number, string>();
  let above: string | undefined;
  for (const stride of strides) {
    const f = features.get(stride)!;
    let p = conv(`p${stride}_lat`, f.node, neck, 1, 1, { relu: false });
    if (above) {
      const up = `p${stride}_up`;
      nodes.push({ op: 'upsample', name: up, input: above });
      outChannels.set(up, outChannels.get(above)!);
      p = `p${stride}_sum`;
      nodes.push({ op: 'add', name: p, inputs: [`p${stride}_lat`, up] });
      outChannels.set(p, outChannels.get(up)!);
    }
    merged.set(stride, p);
    above = p;
  }

  const levels: HeadLevel[] = cfg.strides.map((stride) => {
    let h = merged.get(stride)!;
    for (let k = 0; k < cfg.headConvs; k++) h = block(`h${stride}_c${k + 1}`, h, neck, neck, 1);
    const cls = conv(`h${stride}_cls`, h, cfg.labels.length, 1, 1, { bn: false, relu: false, biasInit: CLASS_BIAS_INIT });
    const box = conv(`h${stride}_box`, h, boxChannels(cfg), 1, 1, { bn: false, relu: false, biasInit: 0 });
    return { stride, cls, box };
  });
  // The head's outputs are the export contract (classes, box bins): never overridden.
  const outputs = new Set(levels.flatMap((l) => [l.cls, l.box]));
  const unknown = Object.keys(cfg.channels ?? {}).filter((n) => outputs.has(n) || !nodes.some((node) => node.op === 'conv' && node.name === n && !node.depthwise));
  if (unknown.length > 0) throw new KestrelError('E_MODEL_CONFIG', `channels names layers this detector does not have, or whose channels are fixed (depthwise, head outputs): ${unknown.join(', ')}`);
  return { input: 'input', nodes, levels };
}

/** An imported network's spec, its class outputs sized to `classes`. */
function importedSpec(network: ImportedNetwork, classes: number): DetectorSpec {
  const cls = new Set(network.levels.map((l) => l.cls));
  const nodes = network.nodes.map((n) => (n.op === 'conv' && cls.has(n.name) ? { ...n, filters: classes } : n));
  return { input: 'input', nodes, levels: network.levels.map((l) => ({ ...l })) };
}

// Rebuilding an imported detector's ONNX graph (models/nanodet-416.onnx, or any NanoDet-style
// graph of the same ops) as a trainable Kestrel network. The graph is walked node by node and
// each node becomes a spec node (model/spec.ts), so the TF.js model, checkpoints and the export
// are all built by the code Kestrel's own detector uses. What the walk accepts:
//
//   Conv (+ bias, BN already folded, optionally followed by LeakyRelu/Relu), MaxPool, Concat on
//   channels, Add, Resize (linear, half_pixel, ×2 or ×½), and per stride a head Conv whose
//   output is Split on channels into C class logits → Sigmoid → Reshape [1,C,hw] →
//   Transpose [0,2,1] (`scores_<s>`) and 4 × bins side logits → Reshape → Transpose (`boxes_<s>`).
//
// The head Conv is split into two spec convs (`h<s>_cls`, `h<s>_box`), which is what Kestrel's
// head is; the same arithmetic, so the rebuilt model computes what ONNX Runtime computes. The
// input normalisation in the metadata (BGR, mean/std on 0..255) becomes a frozen 1×1 conv in
// front, so the rebuilt model takes what every Kestrel detector takes (RGB in 0..1), and its
// export runs with the default input spec. Anything else is refused with the node and op named.
import type { ModelProto } from '@kestrel/core/onnx/io';
import type { AttributeProto, NodeProto } from '@kestrel/core/onnx/build';
import { DataType, tensorDims, tensorToFloat32, tensorToNumbers } from '@kestrel/core/onnx/tensors';
import type { KestrelMetadata } from '@kestrel/core/model/metadata';
import { KestrelError } from '@kestrel/core/util/errors';
import { CLASS_BIAS_INIT, type ConvNode, type HeadLevel, type ImportedNetwork, type SpecNode } from './spec.js';

/** The name of the frozen input-normalisation conv. */
export const INPUT_NORM = 'input_norm';

/** The ops a rebuildable graph may contain (for the error message). */
const SUPPORTED = 'Conv, LeakyRelu, Relu, MaxPool, Concat, Add, Resize (linear, half_pixel), and the head Split → Sigmoid/Reshape → Transpose';

export interface OnnxConvWeights {
  /** ONNX layout [Cout, Cin/group, kh, kw]. */
  dims: number[];
  data: Float32Array;
  bias: Float32Array;
}

export interface RebuiltGraph {
  network: ImportedNetwork;
  /** Each spec conv's weights (the frozen normalisation excepted), by node name. */
  weights: Map<string, OnnxConvWeights>;
  strides: number[];
  boxBins: number;
  /** The input size the graph was exported at. */
  inputHeight: number;
  inputWidth: number;
}

interface Shape {
  h: number;
  w: number;
  c: number;
}

/**
 * Recognises `proto` as a graph the trainer can rebuild; throws E_FROM naming the first node that
 * does not fit. `meta` gives the class list, the strides and the input normalisation.
 */
export function rebuildOnnxGraph(proto: ModelProto, meta: KestrelMetadata, path: string): RebuiltGraph {
  const fail = (what: string): never => {
    throw new KestrelError('E_FROM', `${path}: ${what}; the trainer can rebuild ${meta.decoder === 'yolov8' ? 'NanoDet-style graphs only (a yolov8 graph has ops and a head it cannot rebuild yet)' : `graphs of ${SUPPORTED}`}, so this model cannot be fine-tuned (train from scratch, or distill from it with \`kestrel distill --teacher\`)`);
  };
  if (meta.decoder !== 'nanodet') fail(`decoder ${meta.decoder} is not one whose head the trainer rebuilds (nanodet)`);
  const graph = proto.graph ?? fail('no graph');
  const inits = new Map((graph.initializer ?? []).map((t) => [t.name ?? '', t]));
  const inputs = (graph.input ?? []).filter((v) => !inits.has(v.name ?? ''));
  if (inputs.length !== 1) fail(`expected one image input, found ${inputs.length}`);
  const inputName = inputs[0].name ?? '';
  const inDims = (inputs[0].type?.tensorType?.shape?.dim ?? []).map((d) => Number(d.dimValue ?? 0));
  if (inDims.length !== 4 || inDims[1] !== 3 || !(inDims[2] > 0) || !(inDims[3] > 0)) fail(`input ${inputName} is [${inDims.join(',')}], expected [1,3,H,W]`);
  const [, , H, W] = inDims;

  const consumers = new Map<string, NodeProto[]>();
  for (const n of graph.node ?? []) for (const i of n.input ?? []) if (i) consumers.set(i, [...(consumers.get(i) ?? []), n]);
  const outputs = new Set((graph.output ?? []).map((o) => o.name ?? ''));

  const nodes: SpecNode[] = [normalisation(meta)];
  const weights = new Map<string, OnnxConvWeights>();
  /** ONNX value → spec node producing it, and its shape at the graph's own input size. */
  const values = new Map<string, { node: string; shape: Shape }>([[inputName, { node: INPUT_NORM, shape: { h: H, w: W, c: 3 } }]]);
  /** Head convs (their output is split): ONNX output name → input spec node and weights. */
  const heads = new Map<string, { input: string; shape: Shape; weights: OnnxConvWeights; node: NodeProto }>();
  const levels: HeadLevel[] = [];
  let bins = 0;
  let convs = 0;
  /** Values on a head's tail after its Split (checked by headLevel; decodeHead and the export rebuild them). */
  const tail = new Set<string>();
  const value = (name: string, node: NodeProto) => values.get(name) ?? fail(`node ${label(node)} reads ${name}, which is not the output of a node the trainer rebuilt`);

  for (const node of graph.node ?? []) {
    const op = node.opType ?? '';
    const out = node.output?.[0] ?? '';
    if (op === 'Conv') {
      const x = value(node.input?.[0] ?? '', node);
      const w = inits.get(node.input?.[1] ?? '');
      const b = inits.get(node.input?.[2] ?? '');
      if (!w || !isFloat(w.dataType)) fail(`Conv ${label(node)} has no float weight initializer`);
      const dims = tensorDims(w!);
      const [co, ciPerGroup, kh, kw] = dims;
      const group = attrInt(node, 'group', 1);
      const depthwise = group > 1;
      if (depthwise && !(group === x.shape.c && ciPerGroup === 1 && co === group)) fail(`Conv ${label(node)} is grouped (group ${group}) but not depthwise`);
      if (!depthwise && ciPerGroup !== x.shape.c) fail(`Conv ${label(node)} expects ${ciPerGroup} input channels, its input has ${x.shape.c}`);
      if (kh !== kw) fail(`Conv ${label(node)} has a ${kh}×${kw} kernel (square kernels only)`);
      const strides = attrInts(node, 'strides') ?? [1, 1];
      const pads = attrInts(node, 'pads') ?? [0, 0, 0, 0];
      const dilations = attrInts(node, 'dilations') ?? [1, 1];
      if (strides[0] !== strides[1]) fail(`Conv ${label(node)} has strides ${strides.join(',')} (equal strides only)`);
      if (pads.some((p) => p !== pads[0])) fail(`Conv ${label(node)} pads ${pads.join(',')} (symmetric padding only)`);
      if (dilations.some((d) => d !== 1)) fail(`Conv ${label(node)} is dilated`);
      if (attrString(node, 'auto_pad', 'NOTSET') !== 'NOTSET') fail(`Conv ${label(node)} uses auto_pad`);
      const bias = b ? tensorToFloat32(b) : new Float32Array(co);
      const convWeights = { dims, data: tensorToFloat32(w!), bias };
      const shape = { h: outSide(x.shape.h, kh, strides[0], pads[0]), w: outSide(x.shape.w, kw, strides[0], pads[0]), c: co };
      const next = consumers.get(out) ?? [];
      if (next.length === 1 && next[0].opType === 'Split') {
        heads.set(out, { input: x.node, shape, weights: convWeights, node });
        continue;
      }
      const name = `conv${convs++}`;
      const conv: ConvNode = { op: 'conv', name, input: x.node, filters: co, kernel: kh, stride: strides[0], pad: pads[0], bn: false, relu: false, ...(depthwise ? { depthwise: true } : {}) };
      // An activation that is the conv's only reader is part of the conv node (as Kestrel's are).
      const act = next.length === 1 && (next[0].opType === 'LeakyRelu' || next[0].opType === 'Relu') && !outputs.has(out) ? next[0] : undefined;
      if (act) {
        conv.relu = true;
        if (act.opType === 'LeakyRelu') conv.leakyAlpha = attrFloat(act, 'alpha', 0.01);
        values.set(act.output?.[0] ?? '', { node: name, shape });
      }
      nodes.push(conv);
      weights.set(name, convWeights);
      values.set(out, { node: name, shape });
    } else if (op === 'LeakyRelu' || op === 'Relu') {
      // Folded into its conv above; one reading anything else is a pattern the spec lacks.
      if (!values.has(out)) fail(`${op} ${label(node)} does not follow a Conv it alone reads`);
    } else if (op === 'MaxPool') {
      const x = value(node.input?.[0] ?? '', node);
      const k = attrInts(node, 'kernel_shape') ?? [];
      const strides = attrInts(node, 'strides') ?? [1, 1];
      const pads = attrInts(node, 'pads') ?? [0, 0, 0, 0];
      if (k.length !== 2 || k[0] !== k[1] || strides[0] !== strides[1] || pads.some((p) => p !== pads[0]) || attrInt(node, 'ceil_mode', 0) !== 0 || (attrInts(node, 'dilations') ?? [1, 1]).some((d) => d !== 1)) {
        fail(`MaxPool ${label(node)} (kernel ${k.join('×')}, strides ${strides.join(',')}, pads ${pads.join(',')}): square kernels, equal strides, symmetric pads, no ceil_mode or dilation only`);
      }
      const name = `pool${nodes.length}`;
      nodes.push({ op: 'maxpool', name, input: x.node, kernel: k[0], stride: strides[0], pad: pads[0] });
      values.set(out, { node: name, shape: { h: outSide(x.shape.h, k[0], strides[0], pads[0]), w: outSide(x.shape.w, k[0], strides[0], pads[0]), c: x.shape.c } });
    } else if (op === 'Concat') {
      const parts = (node.input ?? []).map((i) => value(i, node));
      if (normAxis(attrInt(node, 'axis', 0)) !== 1) fail(`Concat ${label(node)} joins axis ${attrInt(node, 'axis', 0)} (channels only)`);
      if (parts.some((p) => p.shape.h !== parts[0].shape.h || p.shape.w !== parts[0].shape.w)) fail(`Concat ${label(node)} joins maps of different sizes`);
      const name = `cat${nodes.length}`;
      nodes.push({ op: 'concat', name, inputs: parts.map((p) => p.node) });
      values.set(out, { node: name, shape: { ...parts[0].shape, c: parts.reduce((c, p) => c + p.shape.c, 0) } });
    } else if (op === 'Add') {
      const [a, b] = (node.input ?? []).map((i) => value(i, node));
      if (!a || !b || node.input!.length !== 2) fail(`Add ${label(node)} must add two feature maps`);
      if (a.shape.h !== b.shape.h || a.shape.w !== b.shape.w || a.shape.c !== b.shape.c) fail(`Add ${label(node)} adds maps of different shapes (no broadcasting)`);
      const name = `add${nodes.length}`;
      nodes.push({ op: 'add', name, inputs: [a.node, b.node] });
      values.set(out, { node: name, shape: a.shape });
    } else if (op === 'Resize') {
      const x = value(node.input?.[0] ?? '', node);
      const mode = attrString(node, 'mode', 'nearest');
      const coords = attrString(node, 'coordinate_transformation_mode', 'half_pixel');
      if (mode !== 'linear' || coords !== 'half_pixel') fail(`Resize ${label(node)} is ${mode}/${coords} (linear with half_pixel only)`);
      const sizes = inits.get(node.input?.[3] ?? '');
      const scales = inits.get(node.input?.[2] ?? '');
      let oh: number, ow: number;
      if (sizes) [, , oh, ow] = tensorToNumbers(sizes);
      else if (scales) {
        const s = tensorToNumbers(scales);
        [oh, ow] = [Math.floor(x.shape.h * s[2]), Math.floor(x.shape.w * s[3])];
      } else fail(`Resize ${label(node)} has neither constant sizes nor scales`);
      const factor = oh! / x.shape.h;
      if (![2, 0.5].includes(factor) || ow! / x.shape.w !== factor) fail(`Resize ${label(node)} scales ${x.shape.h}×${x.shape.w} to ${oh!}×${ow!} (×2 or ×½ on both axes only)`);
      const name = `resize${nodes.length}`;
      nodes.push({ op: 'resize', name, input: x.node, factor });
      values.set(out, { node: name, shape: { h: oh!, w: ow!, c: x.shape.c } });
    } else if (op === 'Split') {
      const head = heads.get(node.input?.[0] ?? '') ?? fail(`Split ${label(node)} does not split a head Conv`);
      const level = headLevel(node, head, meta, H, inits, consumers, outputs, fail);
      if (bins && level.bins !== bins) fail(`head ${label(head.node)} has ${level.bins} bins per side, the others ${bins}`);
      bins = level.bins;
      const C = meta.labels.length;
      const { dims, data, bias } = head.weights;
      const perOut = dims[1] * dims[2] * dims[3];
      const cls = `h${level.stride}_cls`;
      const box = `h${level.stride}_box`;
      nodes.push({ op: 'conv', name: cls, input: head.input, filters: C, kernel: dims[2], stride: 1, pad: attrInts(head.node, 'pads')?.[0] ?? 0, bn: false, relu: false, biasInit: CLASS_BIAS_INIT });
      nodes.push({ op: 'conv', name: box, input: head.input, filters: dims[0] - C, kernel: dims[2], stride: 1, pad: attrInts(head.node, 'pads')?.[0] ?? 0, bn: false, relu: false, biasInit: 0 });
      weights.set(cls, { dims: [C, ...dims.slice(1)], data: data.slice(0, C * perOut), bias: bias.slice(0, C) });
      weights.set(box, { dims: [dims[0] - C, ...dims.slice(1)], data: data.slice(C * perOut), bias: bias.slice(C) });
      levels.push({ stride: level.stride, cls, box });
      for (const o of node.output ?? []) tail.add(o);
    } else if ((op === 'Sigmoid' || op === 'Reshape' || op === 'Transpose') && tail.has(node.input?.[0] ?? '')) {
      for (const o of node.output ?? []) tail.add(o);
    } else {
      fail(`node ${label(node)} is a ${op}, which the trainer cannot rebuild`);
    }
  }
  if (levels.length === 0) fail('no head (a Conv whose output is split into class scores and box bins) was found');
  levels.sort((a, b) => a.stride - b.stride);
  const strides = levels.map((l) => l.stride);
  if (meta.strides && meta.strides.join(',') !== strides.join(',')) fail(`the head's strides ${strides.join(',')} differ from the metadata's ${meta.strides.join(',')}`);
  return { network: { family: 'nanodet', source: path, nodes, levels }, weights, strides, boxBins: bins, inputHeight: H, inputWidth: W };
}

/**
 * The metadata's normalisation as a 1×1 conv on RGB in 0..1: model channel c reads RGB channel
 * src[c] (BGR reverses) and computes (255·x − mean[c]) / std[c], exactly what core's
 * rgbToTensor feeds the ONNX model; zero padding after it pads the normalised values, as in ONNX.
 */
function normalisation(meta: KestrelMetadata): ConvNode {
  const { colour, mean, std } = meta.input;
  const src = colour === 'BGR' ? [2, 1, 0] : [0, 1, 2];
  const kernel = new Array<number>(9).fill(0);
  // TF.js kernel [1, 1, cin, cout]: index cin·3 + cout.
  for (let c = 0; c < 3; c++) kernel[src[c] * 3 + c] = 255 / std[c];
  const bias = [0, 1, 2].map((c) => -mean[c] / std[c]);
  return { op: 'conv', name: INPUT_NORM, input: 'input', filters: 3, kernel: 1, stride: 1, pad: 0, bn: false, relu: false, frozen: true, fixedWeights: { kernel, bias } };
}

/**
 * Checks a head Split's two tails: [C] → Sigmoid → Reshape [1,C,hw] → Transpose [0,2,1] → an
 * output, and [4·bins] → Reshape → Transpose → an output; returns the stride and bins.
 */
function headLevel(
  split: NodeProto,
  head: { shape: Shape; node: NodeProto },
  meta: KestrelMetadata,
  inputHeight: number,
  inits: Map<string, { dims?: unknown }>,
  consumers: Map<string, NodeProto[]>,
  outputs: Set<string>,
  fail: (what: string) => never,
): { stride: number; bins: number } {
  if (normAxis(attrInt(split, 'axis', 0)) !== 1) fail(`Split ${label(split)} splits axis ${attrInt(split, 'axis', 0)} (channels only)`);
  const splitInit = inits.get(split.input?.[1] ?? '') as Parameters<typeof tensorToNumbers>[0] | undefined;
  const parts = splitInit ? tensorToNumbers(splitInit) : attrInts(split, 'split');
  const C = meta.labels.length;
  if (!parts || parts.length !== 2) fail(`Split ${label(split)} must make two parts (class scores, box bins)`);
  if (parts![0] !== C) fail(`head ${label(head.node)} predicts ${parts![0]} classes, the metadata lists ${C} labels`);
  if (parts![1] % 4 !== 0 || parts![1] / 4 < 2) fail(`head ${label(head.node)} has ${parts![1]} box channels (4 sides × bins expected)`);
  const bins = parts![1] / 4;
  if (meta.regMax !== undefined && meta.regMax + 1 !== bins) fail(`head ${label(head.node)} has ${bins} bins per side, the metadata's regMax ${meta.regMax} means ${meta.regMax + 1}`);
  const follow = (value: string, ops: string[]): void => {
    let v = value;
    for (const op of ops) {
      const next = consumers.get(v) ?? [];
      if (next.length !== 1 || next[0].opType !== op) fail(`head output ${v} should go through ${ops.join(' → ')} to a graph output`);
      if (op === 'Transpose' && (attrInts(next[0], 'perm') ?? []).join(',') !== '0,2,1') fail(`Transpose ${label(next[0])} must be perm 0,2,1 ([1,C,hw] → [1,hw,C])`);
      v = next[0].output?.[0] ?? '';
    }
    if (!outputs.has(v)) fail(`head tail ${v} is not a graph output`);
  };
  follow(split.output?.[0] ?? '', ['Sigmoid', 'Reshape', 'Transpose']);
  follow(split.output?.[1] ?? '', ['Reshape', 'Transpose']);
  const stride = inputHeight / head.shape.h;
  if (![8, 16, 32].includes(stride)) fail(`head ${label(head.node)} works at stride ${stride} (8, 16 or 32 only)`);
  return { stride, bins };
}

function outSide(n: number, k: number, s: number, p: number): number {
  return Math.floor((n + 2 * p - k) / s) + 1;
}

function normAxis(axis: number): number {
  return axis < 0 ? axis + 4 : axis;
}

function label(node: NodeProto): string {
  return node.name ? `"${node.name}"` : `writing ${node.output?.[0] ?? '?'}`;
}

function isFloat(t: number | null | undefined): boolean {
  return [DataType.FLOAT, DataType.FLOAT16, DataType.DOUBLE].includes(t ?? 0);
}

function attr(node: NodeProto, name: string): AttributeProto | undefined {
  return (node.attribute ?? []).find((a) => a.name === name);
}

function attrInt(node: NodeProto, name: string, fallback: number): number {
  const a = attr(node, name);
  return a?.i !== undefined && a.i !== null ? Number(a.i) : fallback;
}

function attrFloat(node: NodeProto, name: string, fallback: number): number {
  const a = attr(node, name);
  return a?.f !== undefined && a.f !== null ? a.f : fallback;
}

function attrInts(node: NodeProto, name: string): number[] | undefined {
  const a = attr(node, name);
  return a?.ints && a.ints.length > 0 ? a.ints.map(Number) : undefined;
}

function attrString(node: NodeProto, name: string, fallback: string): string {
  const a = attr(node, name);
  return a?.s && a.s.length > 0 ? new TextDecoder().decode(a.s) : fallback;
}

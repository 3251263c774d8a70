// Which of a detector's convolutions can lose output channels, and what each costs. A conv's
// channels can go only when every reader of them is a convolution that can drop the same input
// channels: a dense conv directly, or a depthwise conv, which carries each channel through to
// its own readers. A conv read by an Add (the FPN laterals, whose widths must match across
// levels) or an Upsample feeding one, and the head's class and box outputs (the export
// contract), keep every channel.
import type { ConvNode, DetectorSpec, SpecNode } from '../model/spec.js';
import type { DetectorConfig } from '../model/config.js';

export interface PrunableLayer {
  /** The dense conv whose output channels are ranked and thinned. */
  name: string;
  channels: number;
  /** Depthwise convs its channels pass through (they lose the same channels). */
  through: string[];
  /** Dense convs reading its channels (directly or after `through`): they lose those inputs. */
  readers: string[];
}

export function readersOf(spec: DetectorSpec): Map<string, SpecNode[]> {
  const readers = new Map<string, SpecNode[]>();
  const add = (from: string, node: SpecNode): void => {
    readers.set(from, [...(readers.get(from) ?? []), node]);
  };
  for (const node of spec.nodes) {
    for (const i of nodeInputs(node)) add(i, node);
  }
  return readers;
}

export function prunableLayers(spec: DetectorSpec): PrunableLayer[] {
  const readers = readersOf(spec);
  const outputs = new Set(spec.levels.flatMap((l) => [l.cls, l.box]));
  const out: PrunableLayer[] = [];
  for (const node of spec.nodes) {
    if (node.op !== 'conv' || node.depthwise || !node.bn || outputs.has(node.name)) continue;
    const through: string[] = [];
    const dense: string[] = [];
    // Follows the channels through depthwise convs; any other kind of reader fixes them.
    const walk = (name: string): boolean => {
      const rs = readers.get(name) ?? [];
      if (rs.length === 0) return false;
      return rs.every((r) => {
        if (r.op !== 'conv') return false;
        if (!r.depthwise) {
          dense.push(r.name);
          return true;
        }
        through.push(r.name);
        return walk(r.name);
      });
    };
    if (walk(node.name)) out.push({ name: node.name, channels: node.filters, through, readers: dense });
  }
  return out;
}

export interface DetectorCost {
  /** Weights and biases as exported (BatchNorm folded into its conv). */
  params: number;
  /** Multiply-accumulates of one image through the convolutions. */
  macs: number;
}

/** Parameters and MACs of the exported network, from the spec alone. */
export function detectorCost(config: DetectorConfig, spec: DetectorSpec): DetectorCost {
  const shapes = new Map<string, { h: number; w: number; c: number }>([[spec.input, { h: config.inputHeight, w: config.inputWidth, c: 3 }]]);
  let params = 0;
  let macs = 0;
  for (const node of spec.nodes) {
    if (node.op === 'conv') {
      const s = shapes.get(node.input)!;
      const cout = node.depthwise ? s.c : node.filters;
      const perOut = node.kernel * node.kernel * (node.depthwise ? 1 : s.c);
      const h = Math.ceil(s.h / node.stride), w = Math.ceil(s.w / node.stride);
      params += perOut * cout + cout;
      macs += perOut * cout * h * w;
      shapes.set(node.name, { h, w, c: cout });
    } else if (node.op === 'upsample') {
      const s = shapes.get(node.input)!;
      shapes.set(node.name, { h: s.h * 2, w: s.w * 2, c: s.c });
    } else {
      shapes.set(node.name, shapes.get(firstInput(node))!);
    }
  }
  // The head tail (softmax over bins, sigmoid) is elementwise: negligible beside the convs.
  return { params, macs };
}

export function convNode(spec: DetectorSpec, name: string): ConvNode {
  const node = spec.nodes.find((n) => n.name === name);
  if (!node || node.op !== 'conv') throw new Error(`no conv ${name} in the spec`);
  return node;
}

/** What a spec node reads (adds and concats read several, the rest one). */
export function nodeInputs(node: SpecNode): string[] {
  return 'inputs' in node ? [...node.inputs] : [node.input];
}

export function firstInput(node: SpecNode): string {
  return nodeInputs(node)[0];
}

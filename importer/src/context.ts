// What an op converter sees: the TF node, its inputs as converted values, and helpers to read
// constants, place values in the layout an ONNX op needs, and emit ONNX nodes.
import { KestrelError } from '@kestrel/core/util/errors';
import { attr, type Attribute } from '@kestrel/core/onnx/build';
import type { TfNodeDef } from './model-json.js';
import { OnnxGraph } from './ir/graph.js';
import { identityPerm, isIdentityPerm, samePerm, transposeBetween } from './layout.js';
import { reshapeHost, transposeHost, type HostDType, type HostTensor } from './tensor.js';

export interface ConstValue {
  readonly kind: 'const';
  readonly tensor: HostTensor;
}

/** A value computed by the ONNX graph; held = transpose(logical TF value, perm). */
export interface DynamicValue {
  readonly kind: 'dynamic';
  /** ONNX value name. */
  readonly name: string;
  readonly dtype: HostDType;
  /** Static shape in TF's (logical) axis order. */
  readonly shape: readonly number[];
  readonly perm: readonly number[];
}

export type TfValue = ConstValue | DynamicValue;

export function constValue(tensor: HostTensor): ConstValue {
  return { kind: 'const', tensor };
}

export function shapeOf(v: TfValue): readonly number[] {
  return v.kind === 'const' ? v.tensor.shape : v.shape;
}

export function dtypeOf(v: TfValue): HostDType {
  return v.kind === 'const' ? v.tensor.dtype : v.dtype;
}

/** The layout of a new output: its dtype, TF shape and the permutation ONNX holds it in. */
export interface OutputSpec {
  dtype: HostDType;
  shape: readonly number[];
  perm?: readonly number[];
  /** Base for the ONNX value name; defaults to the TF node name. */
  name?: string;
}

const TF_DTYPES: Record<string, HostDType> = {
  DT_FLOAT: 'float32',
  DT_INT32: 'int32',
  // TF.js has no int64: the converter stores int64 weights as int32 and runs int64 ops in int32.
  DT_INT64: 'int32',
  DT_BOOL: 'bool',
};

/** Shared by all node contexts of one conversion: the graph and the caches that dedupe work. */
export class ConversionState {
  readonly graph = new OnnxGraph();
  private readonly layoutCache = new Map<string, string>();
  private readonly constCache = new WeakMap<HostTensor, Map<string, string>>();
  private readonly alignCache = new WeakMap<HostTensor, Map<number, HostTensor>>();

  /** `tensor` with leading 1-dims up to `rank` (TF broadcasting), one object per (tensor, rank). */
  rankAligned(tensor: HostTensor, rank: number): HostTensor {
    if (tensor.shape.length >= rank) return tensor;
    let byRank = this.alignCache.get(tensor);
    if (!byRank) {
      byRank = new Map();
      this.alignCache.set(tensor, byRank);
    }
    let aligned = byRank.get(rank);
    if (!aligned) {
      aligned = reshapeHost(tensor, [...new Array<number>(rank - tensor.shape.length).fill(1), ...tensor.shape]);
      byRank.set(rank, aligned);
    }
    return aligned;
  }

  /** Initializer name of `tensor` held in `perm`, one per (tensor, perm). */
  initializer(tensor: HostTensor, perm: readonly number[], base: string): string {
    let byPerm = this.constCache.get(tensor);
    if (!byPerm) {
      byPerm = new Map();
      this.constCache.set(tensor, byPerm);
    }
    const key = perm.join(',');
    let name = byPerm.get(key);
    if (!name) {
      name = this.graph.addInitializer(base, transposeHost(tensor, perm));
      byPerm.set(key, name);
    }
    return name;
  }

  /** ONNX value holding `v` in layout `perm`, adding one Transpose the first time it is needed. */
  held(v: DynamicValue, perm: readonly number[]): string {
    if (samePerm(v.perm, perm)) return v.name;
    const key = `${v.name}|${perm.join(',')}`;
    let name = this.layoutCache.get(key);
    if (!name) {
      const node = this.graph.addNode('Transpose', [v.name], [`${v.name}/${isIdentityPerm(perm) ? 'tf_order' : 'perm_' + perm.join('')}`], {
        perm: attr.ints(transposeBetween(v.perm, perm)),
      });
      name = node.outputs[0];
      this.layoutCache.set(key, name);
    }
    return name;
  }
}

export class NodeContext {
  constructor(
    readonly node: TfNodeDef,
    readonly inputs: readonly TfValue[],
    private readonly state: ConversionState,
  ) {}

  get graph(): OnnxGraph {
    return this.state.graph;
  }

  get name(): string {
    return this.node.name;
  }

  /** An error that names this node and its op; for op features the importer does not handle. */
  unsupported(reason: string): KestrelError {
    return new KestrelError('E_IMPORT_UNSUPPORTED_OP', `cannot convert ${this.node.op} node "${this.node.name}": ${reason}`, {
      op: this.node.op,
      nodes: [this.node.name],
    });
  }

  input(i: number): TfValue {
    const v = this.inputs[i];
    if (!v) throw this.unsupported(`expected at least ${i + 1} inputs, got ${this.inputs.length}`);
    return v;
  }

  /** A constant input (shapes, axes, paddings); the importer needs these at conversion time. */
  constInput(i: number, what: string): HostTensor {
    const v = this.input(i);
    if (v.kind !== 'const') throw this.unsupported(`its ${what} (input ${i}) is computed at run time; only constant ${what} can be converted`);
    return v.tensor;
  }

  /** ONNX value name of `v` held in layout `perm` (constants become initializers). */
  held(v: TfValue, perm: readonly number[] = identityPerm(shapeOf(v).length)): string {
    if (v.kind === 'const') return this.state.initializer(v.tensor, perm, `${this.node.name}/const`);
    return this.state.held(v, perm);
  }

  /** A constant with leading 1-dims added up to `rank`, as TF broadcasting sees it. */
  rankAligned(tensor: HostTensor, rank: number): HostTensor {
    return this.state.rankAligned(tensor, rank);
  }

  /** An initializer for a constant the converter makes up (pads, sizes, axes). */
  constant(tensor: HostTensor, what: string): string {
    return this.state.initializer(tensor, identityPerm(tensor.shape.length), `${this.node.name}/${what}`);
  }

  /** Appends an ONNX node and returns its outputs as converted values. */
  emit(opType: string, inputs: string[], attributes: Record<string, Attribute>, outputs: OutputSpec[]): DynamicValue[] {
    const bases = outputs.map((o, k) => o.name ?? (k === 0 ? this.node.name : `${this.node.name}:${k}`));
    const onnxNode = this.state.graph.addNode(opType, inputs, bases, attributes, this.node.name);
    return outputs.map((o, k) => ({
      kind: 'dynamic',
      name: onnxNode.outputs[k],
      dtype: o.dtype,
      shape: [...o.shape],
      perm: o.perm ? [...o.perm] : identityPerm(o.shape.length),
    }));
  }

  emitOne(opType: string, inputs: string[], attributes: Record<string, Attribute>, output: OutputSpec): DynamicValue {
    return this.emit(opType, inputs, attributes, [output])[0];
  }

  /** The TF dtype attribute `name` as a host dtype. */
  dtypeAttr(name: string): HostDType {
    const t = this.node.attr?.[name]?.type;
    const dtype = t ? TF_DTYPES[t] : undefined;
    if (!dtype) throw this.unsupported(`dtype ${t ?? '(missing)'} in attribute ${name} is not supported (float32, int32, int64, bool)`);
    return dtype;
  }
}

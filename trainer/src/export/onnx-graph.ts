// A minimal ONNX graph builder: nodes, float initializers, typed inputs and outputs, straight to
// core's onnx ModelProto binding. Names are deterministic, so one checkpoint always exports to
// the same bytes (metadata aside).
import { onnx } from '@kestrel/core/onnx/proto';
import type { ModelProto } from '@kestrel/core/onnx/io';
import { IR_VERSION, OPSET } from '@kestrel/core/onnx/versions';

const FLOAT = 1;
const INT64 = 7;

type Attribute = { name: string; type: number; i?: number; f?: number; s?: Uint8Array; ints?: number[]; floats?: number[] };

export class OnnxGraphBuilder {
  private readonly nodes: Array<Record<string, unknown>> = [];
  private readonly initializers: Array<Record<string, unknown>> = [];
  private readonly inputs: Array<Record<string, unknown>> = [];
  private readonly outputs: Array<Record<string, unknown>> = [];

  input(name: string, dims: number[]): string {
    this.inputs.push(valueInfo(name, dims));
    return name;
  }

  output(name: string, dims: number[]): void {
    this.outputs.push(valueInfo(name, dims));
  }

  float(name: string, dims: number[], values: Float32Array | number[]): string {
    const data = values instanceof Float32Array ? values : Float32Array.from(values);
    if (data.length !== dims.reduce((a, b) => a * b, 1)) throw new Error(`initializer ${name}: ${data.length} values for dims ${dims}`);
    this.initializers.push({ name, dims, dataType: FLOAT, rawData: new Uint8Array(data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength)) });
    return name;
  }

  int64(name: string, values: number[]): string {
    const data = new BigInt64Array(values.map((v) => BigInt(v)));
    this.initializers.push({ name, dims: [values.length], dataType: INT64, rawData: new Uint8Array(data.buffer) });
    return name;
  }

  node(opType: string, inputs: string[], output: string, attributes: Record<string, number | number[] | string> = {}, name = output): string {
    const attribute: Attribute[] = Object.keys(attributes).sort().map((k) => attr(k, attributes[k]));
    this.nodes.push({ name, opType, input: inputs, output: [output], attribute });
    return output;
  }

  build(graphName: string, producerVersion: string): ModelProto {
    return onnx.ModelProto.fromObject({
      irVersion: IR_VERSION,
      opsetImport: [{ domain: '', version: OPSET }],
      producerName: 'kestrel-trainer',
      producerVersion,
      graph: { name: graphName, node: this.nodes, initializer: this.initializers, input: this.inputs, output: this.outputs },
    });
  }
}

function attr(name: string, v: number | number[] | string): Attribute {
  if (typeof v === 'string') return { name, type: 3, s: Buffer.from(v, 'utf8') };
  if (Array.isArray(v)) return v.every(Number.isInteger) ? { name, type: 7, ints: v } : { name, type: 6, floats: v };
  return Number.isInteger(v) ? { name, type: 2, i: v } : { name, type: 1, f: v };
}

function valueInfo(name: string, dims: number[]): Record<string, unknown> {
  return { name, type: { tensorType: { elemType: FLOAT, shape: { dim: dims.map((d) => ({ dimValue: d })) } } } };
}

// The TF.js graph-model format (model.json), as written by tensorflowjs_converter, and reading it
// with errors that name the file and what is wrong.
import { readFile } from 'node:fs/promises';
import { KestrelError } from '@kestrel/core/util/errors';

export interface TfShapeProto {
  dim?: { size?: string | number }[];
  unknownRank?: boolean;
}

/** One attribute of a TF NodeDef in its JSON form (int64 values are strings, bytes are base64). */
export interface TfAttrValue {
  s?: string;
  i?: string | number;
  f?: number | string;
  b?: boolean;
  type?: string;
  shape?: TfShapeProto;
  tensor?: unknown;
  list?: {
    s?: string[];
    i?: (string | number)[];
    f?: (number | string)[];
    b?: boolean[];
    type?: string[];
    shape?: TfShapeProto[];
  };
  func?: unknown;
}

export interface TfNodeDef {
  name: string;
  op: string;
  input?: string[];
  attr?: Record<string, TfAttrValue>;
  device?: string;
}

export type WeightDType = 'float32' | 'int32' | 'bool' | 'string' | 'complex64';

export interface WeightSpec {
  name: string;
  shape: number[];
  dtype: WeightDType;
  quantization?: { dtype: 'uint8' | 'uint16' | 'float16'; scale?: number; min?: number; original_dtype?: string };
}

export interface WeightGroup {
  paths: string[];
  weights: WeightSpec[];
}

export interface TfTensorInfo {
  name?: string;
  dtype?: string;
  tensorShape?: TfShapeProto;
}

export interface TfjsGraphModelJson {
  format?: string;
  generatedBy?: string;
  convertedBy?: string;
  modelTopology: {
    node: TfNodeDef[];
    library?: { function?: unknown[] };
    versions?: unknown;
  };
  weightsManifest: WeightGroup[];
  signature?: { inputs?: Record<string, TfTensorInfo>; outputs?: Record<string, TfTensorInfo> };
}

function modelJsonError(path: string, what: string): KestrelError {
  return new KestrelError('E_IMPORT_MODEL_JSON', `${path}: ${what}`, { path });
}

/** Reads and checks model.json; anything that is not a TF.js graph model is refused with a reason. */
export async function readModelJson(path: string): Promise<TfjsGraphModelJson> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw modelJsonError(path, `cannot read the model file (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw modelJsonError(path, `is not JSON (${(err as Error).message}); give the model.json of a TF.js graph model`);
  }
  return checkModelJson(json, path);
}

export function checkModelJson(json: unknown, path: string): TfjsGraphModelJson {
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    throw modelJsonError(path, 'is not a TF.js model (expected a JSON object with modelTopology and weightsManifest)');
  }
  const model = json as Partial<TfjsGraphModelJson>;
  if (model.format === 'layers-model') {
    throw modelJsonError(path, 'is a TF.js layers model; only graph models (tensorflowjs_converter --output_format=tfjs_graph_model) can be imported');
  }
  const nodes = model.modelTopology?.node;
  if (!Array.isArray(nodes)) {
    throw modelJsonError(path, 'has no modelTopology.node list; it is not a TF.js graph model');
  }
  if (!Array.isArray(model.weightsManifest)) {
    throw modelJsonError(path, 'has no weightsManifest list; it is not a TF.js graph model');
  }
  for (const [i, node] of nodes.entries()) {
    if (typeof node?.name !== 'string' || typeof node?.op !== 'string') {
      throw modelJsonError(path, `modelTopology.node[${i}] lacks a name or an op`);
    }
  }
  for (const [g, group] of model.weightsManifest.entries()) {
    if (!Array.isArray(group?.paths) || !Array.isArray(group?.weights)) {
      throw modelJsonError(path, `weightsManifest[${g}] lacks paths or weights`);
    }
    for (const [w, spec] of group.weights.entries()) {
      if (typeof spec?.name !== 'string' || !Array.isArray(spec.shape) || typeof spec.dtype !== 'string') {
        throw modelJsonError(path, `weightsManifest[${g}].weights[${w}] lacks a name, shape or dtype`);
      }
    }
  }
  return model as TfjsGraphModelJson;
}

/** Static dims of a TF shape proto; -1 marks an unknown dim; undefined when the rank is unknown. */
export function dimsOf(shape: TfShapeProto | undefined): number[] | undefined {
  if (!shape || shape.unknownRank) return undefined;
  return (shape.dim ?? []).map((d) => Number(d.size ?? -1));
}

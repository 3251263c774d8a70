import type { ModelProto } from '../onnx/io.js';
import { KestrelError } from '../util/errors.js';
import { DRIFT_BASELINE_KEY, parseDriftBaseline, type DriftBaseline } from '../drift/baseline.js';

/** Decoders the agent knows; each turns raw model outputs into boxes in model-input pixels. */
export const DECODERS = ['yolov8', 'nanodet', 'kestrel'] as const;
export type DecoderName = (typeof DECODERS)[number];

/** How an image becomes the model's input tensor. */
export interface InputSpec {
  width: number;
  height: number;
  layout: 'NCHW';
  colour: 'RGB' | 'BGR';
  /** Per channel, in the model's colour order, on the 0..255 scale. */
  mean: [number, number, number];
  std: [number, number, number];
  /** Keep the aspect ratio and pad (true), or stretch to the input size (false). */
  letterbox: boolean;
  /** Value of the padding, 0..255 (DEFAULT_PAD_VALUE when a model does not say). */
  padValue?: number;
}

/**
 * Grey level of the letterbox padding, declared once: the agent's ffmpeg pad filter, core's image
 * preprocessing, the trainer's augmentations and every default input spec must agree, or a model
 * sees different borders in the field from those it was trained and evaluated with. 114 is the
 * YOLO convention (Ultralytics pads with it), so exported YOLO models get what they expect.
 */
export const DEFAULT_PAD_VALUE = 114;

/**
 * The input most detectors take (Ultralytics exports, Kestrel's own): RGB scaled to 0..1 (mean 0,
 * std 255), letterboxed with DEFAULT_PAD_VALUE grey. Also the defaults for what a model's
 * metadata leaves out.
 */
export function defaultInputSpec(width: number, height: number): InputSpec {
  return { width, height, layout: 'NCHW', colour: 'RGB', mean: [0, 0, 0], std: [255, 255, 255], letterbox: true, padValue: DEFAULT_PAD_VALUE };
}

export interface QuantizationInfo {
  method: string;
  profile?: string;
  calibrationCount?: number;
  perChannel?: boolean;
  excluded?: string[];
  /** Activation type: uint8 (ONNX Runtime CPU) or int8 (TensorRT). */
  activations?: 'uint8' | 'int8';
  /** Activation zero points fixed at 0 (TensorRT requires it). */
  symmetricActivations?: boolean;
  weights?: 'int8';
  /** 8, or 7 when weights were reduced to avoid int16 saturation on CPUs without VNNI. */
  weightBits?: number;
  [key: string]: unknown;
}

/** Everything a Kestrel model says about itself (`kestrel.*` ONNX metadata_props). */
export interface KestrelMetadata {
  decoder: DecoderName;
  labels: string[];
  input: InputSpec;
  strides?: number[];
  /** NanoDet/Kestrel-style distribution regression: bins per side minus one. */
  regMax?: number;
  name?: string;
  version?: string;
  trainedFrom?: string;
  quantization?: QuantizationInfo;
  eval?: Record<string, unknown>;
  /** Anything else under `kestrel.` that this version does not interpret, kept verbatim. */
  extra?: Record<string, string>;
}

/**
 * Limits on what a model may ask of the device. The input tensor is allocated per frame from
 * the metadata (4 bytes × 3 × width × height), so a model claiming 100000×100000 would take the
 * agent down before ONNX Runtime ever saw it; the largest detectors in use take 1536 a side.
 */
export const MAX_INPUT_SIDE = 4096;
/** ffmpeg's scaler and letterbox need a few pixels; no detector takes fewer than this a side. */
export const MIN_INPUT_SIDE = 8;
export const MAX_INPUT_PIXELS = 2 ** 23;
export const MAX_LABELS = 10_000;

/** What is wrong with an input spec, each naming its field; empty when nothing is. */
export function inputSpecProblems(input: Partial<Record<keyof InputSpec, unknown>>): string[] {
  const problems: string[] = [];
  const side = (key: 'width' | 'height') => {
    const v = input[key];
    if (!(typeof v === 'number' && Number.isInteger(v) && v >= MIN_INPUT_SIDE && v <= MAX_INPUT_SIDE)) problems.push(`input.${key} must be a whole number from ${MIN_INPUT_SIDE} to ${MAX_INPUT_SIDE}, got ${JSON.stringify(v)}`);
  };
  side('width');
  side('height');
  if (typeof input.width === 'number' && typeof input.height === 'number' && input.width * input.height > MAX_INPUT_PIXELS) {
    problems.push(`input is ${input.width}×${input.height} = ${input.width * input.height} pixels; Kestrel runs models of up to ${MAX_INPUT_PIXELS} input pixels`);
  }
  if (input.layout !== undefined && input.layout !== 'NCHW') problems.push(`input.layout must be "NCHW", got ${JSON.stringify(input.layout)}`);
  if (input.colour !== undefined && input.colour !== 'RGB' && input.colour !== 'BGR') problems.push(`input.colour must be "RGB" or "BGR", got ${JSON.stringify(input.colour)}`);
  const triple = (key: 'mean' | 'std', ok: (n: number) => boolean, what: string) => {
    const v = input[key];
    if (v === undefined) return;
    if (!Array.isArray(v) || v.length !== 3 || v.some((n) => typeof n !== 'number' || !ok(n))) problems.push(`input.${key} must be 3 ${what} (one per channel), got ${JSON.stringify(v)}`);
  };
  triple('mean', Number.isFinite, 'finite numbers');
  // Pixels are divided by std: 0 would make every input infinite.
  triple('std', (n) => Number.isFinite(n) && n > 0, 'finite numbers above 0');
  if (input.letterbox !== undefined && typeof input.letterbox !== 'boolean') problems.push(`input.letterbox must be true or false, got ${JSON.stringify(input.letterbox)}`);
  if (input.padValue !== undefined && !(typeof input.padValue === 'number' && input.padValue >= 0 && input.padValue <= 255)) problems.push(`input.padValue must be a number from 0 to 255, got ${JSON.stringify(input.padValue)}`);
  return problems;
}

const PREFIX = 'kestrel.';
const JSON_KEYS = new Set(['labels', 'input', 'strides', 'quantization', 'eval', 'reg_max']);

/** The `kestrel.*` props of a model, as plain strings. */
export function metadataProps(model: ModelProto): Record<string, string> {
  const props: Record<string, string> = {};
  for (const p of model.metadataProps ?? []) {
    if (p.key) props[p.key] = p.value ?? '';
  }
  return props;
}

/**
 * Reads Kestrel metadata; `overrides` fill fields the model lacks (a plain Ultralytics export
 * carries none), and win over what the model says when both are given.
 */
export function parseMetadata(props: Record<string, string>, overrides: Partial<KestrelMetadata> = {}, source = 'model'): KestrelMetadata {
  const raw: Record<string, unknown> = {};
  const extra: Record<string, string> = {};
  for (const [key, value] of Object.entries(props)) {
    if (!key.startsWith(PREFIX)) continue;
    const field = key.slice(PREFIX.length);
    if (JSON_KEYS.has(field)) {
      try {
        raw[field] = JSON.parse(value);
      } catch {
        throw new KestrelError('E_MODEL_METADATA', `${source}: metadata ${key} is not valid JSON`);
      }
    } else if (['decoder', 'version', 'name', 'trained_from'].includes(field)) {
      raw[field] = value;
    } else {
      extra[field] = value;
    }
  }
  const decoder = (overrides.decoder ?? raw.decoder) as DecoderName | undefined;
  const labels = (overrides.labels ?? raw.labels) as string[] | undefined;
  const input = { ...(raw.input as Partial<InputSpec> | undefined), ...overrides.input } as Partial<InputSpec>;
  const missing: string[] = [];
  if (!decoder) missing.push('decoder (--decoder yolov8|nanodet|kestrel)');
  if (!labels) missing.push('labels (--labels a,b,c or --labels-file)');
  if (input.width === undefined || input.height === undefined) missing.push('input size (--imgsz WxH)');
  if (missing.length > 0) {
    throw new KestrelError('E_MODEL_METADATA', `${source} lacks Kestrel metadata for: ${missing.join(', ')}; give them on the command line or in config`);
  }
  if (!DECODERS.includes(decoder!)) {
    throw new KestrelError('E_MODEL_METADATA', `${source}: unknown decoder "${decoder}" (known: ${DECODERS.join(', ')})`);
  }
  if (!Array.isArray(labels) || labels.some((l) => typeof l !== 'string')) {
    throw new KestrelError('E_MODEL_METADATA', `${source}: labels must be an array of strings`);
  }
  if (labels!.length === 0 || labels!.length > MAX_LABELS) {
    throw new KestrelError('E_MODEL_METADATA', `${source}: labels must name 1 to ${MAX_LABELS} classes, it names ${labels!.length}`);
  }
  const inputProblems = inputSpecProblems(input);
  if (inputProblems.length) throw new KestrelError('E_MODEL_METADATA', `${source}: ${inputProblems.join('; ')}`);
  const defaults = defaultInputSpec(input.width!, input.height!);
  const meta: KestrelMetadata = {
    decoder: decoder!,
    labels: labels!,
    input: {
      ...defaults,
      colour: input.colour ?? defaults.colour,
      mean: input.mean ?? defaults.mean,
      std: input.std ?? defaults.std,
      letterbox: input.letterbox ?? defaults.letterbox,
      padValue: input.padValue ?? defaults.padValue,
    },
  };
  const strides = overrides.strides ?? (raw.strides as number[] | undefined);
  if (strides !== undefined) {
    if (!Array.isArray(strides) || strides.length === 0 || strides.length > 8 || strides.some((n) => !Number.isInteger(n) || n < 1 || n > 1024)) {
      throw new KestrelError('E_MODEL_METADATA', `${source}: strides must be 1 to 8 whole numbers from 1 to 1024, got ${JSON.stringify(strides)}`);
    }
    meta.strides = strides;
  }
  const regMax = overrides.regMax ?? (raw.reg_max as number | undefined);
  if (regMax !== undefined) {
    if (!Number.isInteger(regMax) || regMax < 0 || regMax > 64) throw new KestrelError('E_MODEL_METADATA', `${source}: reg_max must be a whole number from 0 to 64, got ${JSON.stringify(regMax)}`);
    meta.regMax = regMax;
  }
  const version = overrides.version ?? (raw.version as string | undefined);
  if (version) meta.version = version;
  const name = overrides.name ?? (raw.name as string | undefined);
  if (name) meta.name = name;
  if (raw.trained_from) meta.trainedFrom = raw.trained_from as string;
  if (raw.quantization) meta.quantization = raw.quantization as QuantizationInfo;
  if (raw.eval) meta.eval = raw.eval as Record<string, unknown>;
  if (Object.keys(extra).length > 0) meta.extra = extra;
  return meta;
}

export function readMetadata(model: ModelProto, overrides: Partial<KestrelMetadata> = {}, source = 'model'): KestrelMetadata {
  return parseMetadata(metadataProps(model), overrides, source);
}

/** The metadata as `kestrel.*` string props. */
export function metadataToProps(meta: KestrelMetadata): Record<string, string> {
  const props: Record<string, string> = {
    'kestrel.decoder': meta.decoder,
    'kestrel.labels': JSON.stringify(meta.labels),
    'kestrel.input': JSON.stringify(meta.input),
  };
  if (meta.strides) props['kestrel.strides'] = JSON.stringify(meta.strides);
  if (meta.regMax !== undefined) props['kestrel.reg_max'] = JSON.stringify(meta.regMax);
  if (meta.name) props['kestrel.name'] = meta.name;
  if (meta.version) props['kestrel.version'] = meta.version;
  if (meta.trainedFrom) props['kestrel.trained_from'] = meta.trainedFrom;
  if (meta.quantization) props['kestrel.quantization'] = JSON.stringify(meta.quantization);
  if (meta.eval) props['kestrel.eval'] = JSON.stringify(meta.eval);
  for (const [k, v] of Object.entries(meta.extra ?? {})) props[PREFIX + k] = v;
  return props;
}

/** Replaces the model's `kestrel.*` props with `meta`, keeping every other prop. */
export function writeMetadata(model: ModelProto, meta: KestrelMetadata): void {
  const kept = (model.metadataProps ?? []).filter((p) => !p.key?.startsWith(PREFIX));
  const props = metadataToProps(meta);
  model.metadataProps = [...kept, ...Object.entries(props).map(([key, value]) => ({ key, value }))] as ModelProto['metadataProps'];
}

/**
 * The drift baseline a model carries (`kestrel.drift_baseline`, written by `kestrel eval
 * --baseline`), or undefined when it carries none. Kept among `extra` so a model's metadata
 * round-trips unchanged; parsed only by who needs it, since a model with a damaged baseline still
 * detects (the agent then learns one instead, and says why).
 */
export function driftBaselineOf(meta: Pick<KestrelMetadata, 'extra'>, source = 'model'): DriftBaseline | undefined {
  const text = meta.extra?.[DRIFT_BASELINE_KEY.slice(PREFIX.length)];
  return text === undefined ? undefined : parseDriftBaseline(text, source);
}

/** `meta` with `baseline` as its drift baseline (replacing any). */
export function withDriftBaseline(meta: KestrelMetadata, baseline: DriftBaseline): KestrelMetadata {
  return { ...meta, extra: { ...meta.extra, [DRIFT_BASELINE_KEY.slice(PREFIX.length)]: JSON.stringify(baseline) } };
}

// Scale and zero-point arithmetic, as ONNX Runtime's quantizer does it, so models we write
// quantize the way ORT and TensorRT expect: the real range always contains 0 (so zero padding
// and ReLU's zero are exact), rounding is half-to-even (numpy's, and ONNX QuantizeLinear's),
// symmetric ranges use -127..127 so the zero point is exactly 0.

export type QuantType = 'uint8' | 'int8';

export interface QuantParams {
  /** float32-representable scale (the value written into the model). */
  scale: number;
  zeroPoint: number;
  type: QuantType;
}

export interface QuantRange {
  min: number;
  max: number;
}

/**
 * The integer range a type uses; symmetric int8 drops -128 so that +/- ranges mirror.
 * `reduceRange` keeps 7 bits (ORT's reduce_range): x86 CPUs without VNNI multiply uint8 × int8
 * pairs with VPMADDUBSW, whose int16 sum saturates once 2 × 255 × |w| exceeds 32767, so full
 * int8 weights silently corrupt results there (measured: 10× the error of 7-bit weights).
 */
export function quantLimits(type: QuantType, symmetric: boolean, reduceRange = false): { qmin: number; qmax: number } {
  if (type === 'uint8') return reduceRange ? { qmin: 0, qmax: 127 } : { qmin: 0, qmax: 255 };
  if (reduceRange) return { qmin: -64, qmax: 64 };
  return symmetric ? { qmin: -127, qmax: 127 } : { qmin: -128, qmax: 127 };
}

/** Round half to even (banker's rounding), matching numpy.round and QuantizeLinear. */
export function roundHalfToEven(x: number): number {
  const floor = Math.floor(x);
  const frac = x - floor;
  if (frac < 0.5) return floor;
  if (frac > 0.5) return floor + 1;
  return floor % 2 === 0 ? floor : floor + 1;
}

function clamp(v: number, lo: number, hi: number): number {
  return v < lo ? lo : v > hi ? hi : v;
}

/**
 * Scale and zero point for a real range. The range is widened to include 0 first; symmetric
 * mode makes it [-a, a] so the zero point is the middle of the type (0 for int8).
 */
export function computeQuantParams(range: QuantRange, type: QuantType, symmetric: boolean, reduceRange = false): QuantParams {
  let rmin = Math.min(range.min, 0);
  let rmax = Math.max(range.max, 0);
  if (!Number.isFinite(rmin) || !Number.isFinite(rmax)) {
    throw new RangeError(`cannot quantize a non-finite range [${range.min}, ${range.max}]`);
  }
  const { qmin, qmax } = quantLimits(type, symmetric, reduceRange);
  if (symmetric) {
    const absmax = Math.max(Math.abs(rmin), Math.abs(rmax));
    rmin = -absmax;
    rmax = absmax;
  }
  let scale = Math.fround((rmax - rmin) / (qmax - qmin));
  // A constant-zero tensor: any scale represents it; ORT uses 1 so nothing divides by zero.
  if (!(scale >= 1.1754943508222875e-38)) scale = 1;
  const zeroPoint = symmetric
    ? (type === 'uint8' ? 128 : 0)
    : clamp(roundHalfToEven(qmin - rmin / scale), qmin, qmax);
  return { scale, zeroPoint, type };
}

/** The real interval a quantized tensor can represent. */
export function representableRange(p: QuantParams): QuantRange {
  const { qmin, qmax } = quantLimits(p.type, false);
  return { min: (qmin - p.zeroPoint) * p.scale, max: (qmax - p.zeroPoint) * p.scale };
}

/** Quantize one value (QuantizeLinear semantics, saturating to the type). */
export function quantizeValue(x: number, p: QuantParams): number {
  const { qmin, qmax } = quantLimits(p.type, false);
  return clamp(roundHalfToEven(x / p.scale) + p.zeroPoint, qmin, qmax);
}

export function dequantizeValue(q: number, p: QuantParams): number {
  return (q - p.zeroPoint) * p.scale;
}

export interface PerChannelWeights {
  data: Int8Array;
  /** One scale per output channel (or a single one for per-tensor). */
  scales: Float32Array;
}

/**
 * Symmetric int8 weights, per channel along `axis` (0: Conv's output channels) or per tensor.
 * Symmetric weights keep the zero point 0, which both ORT's U8S8/S8S8 kernels and TensorRT need.
 */
export function quantizeWeights(values: Float32Array, dims: readonly number[], axis: number | null, reduceRange = false): PerChannelWeights {
  const data = new Int8Array(values.length);
  if (axis === null) {
    let absmax = 0;
    for (let i = 0; i < values.length; i++) absmax = Math.max(absmax, Math.abs(values[i]));
    const p = computeQuantParams({ min: -absmax, max: absmax }, 'int8', true, reduceRange);
    for (let i = 0; i < values.length; i++) data[i] = quantizeValue(values[i], p);
    return { data, scales: Float32Array.of(p.scale) };
  }
  const channels = dims[axis];
  const inner = dims.slice(axis + 1).reduce((a, b) => a * b, 1);
  const outer = dims.slice(0, axis).reduce((a, b) => a * b, 1);
  const absmax = new Float64Array(channels);
  for (let o = 0; o < outer; o++) {
    for (let c = 0; c < channels; c++) {
      const base = (o * channels + c) * inner;
      for (let i = 0; i < inner; i++) absmax[c] = Math.max(absmax[c], Math.abs(values[base + i]));
    }
  }
  const params = Array.from(absmax, (a) => computeQuantParams({ min: -a, max: a }, 'int8', true, reduceRange));
  for (let o = 0; o < outer; o++) {
    for (let c = 0; c < channels; c++) {
      const base = (o * channels + c) * inner;
      for (let i = 0; i < inner; i++) data[base + i] = quantizeValue(values[base + i], params[c]);
    }
  }
  return { data, scales: Float32Array.from(params, (p) => p.scale) };
}

/**
 * int32 bias for a quantized Conv/MatMul: scale = input scale × weight scale (per channel),
 * zero point 0, so the integer accumulator adds it without rescaling.
 */
export function quantizeBias(values: Float32Array, inputScale: number, weightScales: Float32Array): { data: Int32Array; scales: Float32Array } {
  const scales = new Float32Array(values.length);
  const data = new Int32Array(values.length);
  for (let c = 0; c < values.length; c++) {
    const ws = weightScales.length === 1 ? weightScales[0] : weightScales[c];
    const s = Math.fround(inputScale * ws);
    scales[c] = s > 0 ? s : 1;
    data[c] = clamp(roundHalfToEven(values[c] / scales[c]), -2147483648, 2147483647);
  }
  return { data, scales };
}

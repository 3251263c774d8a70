// `quantizeModel`: the whole story, top to bottom. Read and check the FP32 model, apply the
// exact float rewrites, plan Q/DQ placement, calibrate, rewrite, check that ONNX Runtime fuses
// what we quantized, write atomically, then measure agreement and speed for the report.
import { stat } from 'node:fs/promises';
import { readModel, decodeModel, encodeModel, writeFileAtomic, type ModelProto } from '@kestrel/core/onnx/io';
import { writeMetadata, type QuantizationInfo } from '@kestrel/core/model/metadata';
import { KestrelError, isKestrelError } from '@kestrel/core/util/errors';
import { silentLogger } from '@kestrel/core/util/log';
import { inlineConstants, sortTopologically } from './graph/graph.js';
import { CALIBRATION_METHODS, createCalibrator, type CalibrationMethod } from './calib/calibrators.js';
import { collectActivations } from './calib/collect.js';
import { calibrationInputs } from './calib/inputs.js';
import { loadImageTensor } from './calib/images.js';
import { checkChoice, checkOutputPath, rejectOldOpset, rejectQuantized, tryMetadata } from './checks.js';
import { planQuantization, type ExcludedNode } from './rewrite/plan.js';
import { applyQdq, resolveParams, type RewriteSummary } from './rewrite/qdq.js';
import { channelsLastHeads, poolBeforeActivation, type PlacementRewrite } from './rewrite/placement.js';
import { verifyFusion, type FusionReport } from './verify/fusion.js';
import { measureAgreement, type AgreementReport } from './report/agreement.js';
import { benchmarkModels, type BenchmarkResult } from './report/benchmark.js';
import { PROFILES, PROFILE_SETTINGS, type QuantizeOptions, type QuantizeProfile } from './options.js';

export const DEFAULT_METHOD: CalibrationMethod = 'percentile';
export { DEFAULT_MAX_CALIBRATION_IMAGES } from './calib/inputs.js';

export interface QuantizeResult {
  input: string;
  output: string;
  profile: QuantizeProfile;
  method: CalibrationMethod;
  perChannel: boolean;
  calibration: { source: 'images' | 'frames' | 'tensors'; root?: string; count: number; heldOut: number };
  excluded: ExcludedNode[];
  rewrites: PlacementRewrite[];
  summary: RewriteSummary;
  fusion: FusionReport;
  sizes: { fp32Bytes: number; int8Bytes: number; ratio: number };
  /** What was written to `kestrel.quantization`. */
  quantization: QuantizationInfo;
  agreement?: AgreementReport;
  throughput?: BenchmarkResult;
  /** Why a report section is missing (no images, no metadata, turned off). */
  skipped: string[];
}

export async function quantizeModel(inputPath: string, options: QuantizeOptions): Promise<QuantizeResult> {
  const logger = options.logger ?? silentLogger;
  const profile = checkChoice(options.profile ?? 'ort-cpu', PROFILES, '--profile');
  const method = checkChoice(options.method ?? DEFAULT_METHOD, CALIBRATION_METHODS, '--method');
  const settings = PROFILE_SETTINGS[profile];
  const perChannel = options.perChannel ?? true;
  const reduceRange = options.reduceRange ?? settings.reduceRange;
  await checkOutputPath(inputPath, options.output);

  const original = await readModel(inputPath);
  rejectQuantized(original, inputPath);
  rejectOldOpset(original, inputPath);
  const meta = tryMetadata(original, options.overrides, inputPath);
  const calibration = await calibrationInputs(original, meta, options);

  const model = decodeModel(encodeModel(original));
  inlineConstants(model);
  sortTopologically(model);
  const rewrites = settings.rewrites ? [poolBeforeActivation(model), channelsLastHeads(model)] : [];
  const convCount = countOps(model, 'Conv');
  const matMulCount = countOps(model, 'MatMul');
  const plan = planQuantization(model, {
    placement: settings.placement,
    exclude: options.exclude ?? [],
    keepStemFloat: options.keepStemFloat ?? settings.keepStemFloat,
    keepTailFloat: options.keepTailFloat ?? true,
  });
  if (plan.computeNodes.length === 0) {
    throw new KestrelError('E_QUANT_NOTHING', `${inputPath} has no Conv or MatMul left to quantize (${convCount + matMulCount} found, ${plan.excluded.length} excluded); nothing was written`);
  }
  logger.info({ tensors: plan.tensors.size, computeNodes: plan.computeNodes.length, excluded: plan.excluded.length }, 'quantization planned');

  const calibrator = createCalibrator(method);
  const collected = await collectActivations(model, [...plan.tensors], calibration.feeds, calibrator, {
    threads: options.threads,
    onSample: (done) => options.onProgress?.({ phase: 'calibrate', done, total: calibration.count }),
  });
  if (collected.samples === 0) throw new KestrelError('E_CALIB_EMPTY', 'calibration produced no samples');
  const params = resolveParams(plan, calibrator.ranges(settings.activation.symmetric), settings.activation);
  const summary = applyQdq(model, plan, params, { activation: settings.activation, perChannel, reduceRange });

  const excludedNames = plan.excluded.filter((e) => e.reason !== 'tail').map((e) => e.name);
  const quantization: QuantizationInfo = {
    method,
    profile,
    calibrationCount: collected.samples,
    perChannel,
    excluded: excludedNames,
    activations: settings.activation.type,
    symmetricActivations: settings.activation.symmetric,
    weights: 'int8',
    weightBits: reduceRange ? 7 : 8,
  };
  if (meta) writeMetadata(model, { ...meta, quantization });
  else setProp(model, 'kestrel.quantization', JSON.stringify(quantization));

  const bytes = encodeModel(model);
  options.onProgress?.({ phase: 'verify', done: 0, total: 1 });
  const excludedOf = (op: string) => plan.excluded.filter((e) => e.opType === op).length;
  let fusion: FusionReport;
  try {
    fusion = await verifyFusion(model, bytes, { convs: convCount - excludedOf('Conv'), matMuls: matMulCount - excludedOf('MatMul') }, options.threads ?? 1);
  } catch (err) {
    if (isKestrelError(err)) throw err;
    throw new KestrelError('E_QUANT_INVALID', `ONNX Runtime rejected the quantized model, nothing was written: ${(err as Error).message.split('\n')[0]}`);
  }
  options.onProgress?.({ phase: 'verify', done: 1, total: 1 });
  await writeOutput(options.output, bytes);
  const fp32Bytes = (await stat(inputPath)).size;
  logger.info({ output: options.output, fused: fusion.ratio }, 'quantized model written');

  const result: QuantizeResult = {
    input: inputPath,
    output: options.output,
    profile,
    method,
    perChannel,
    calibration: { source: calibration.source, ...(calibration.root ? { root: calibration.root } : {}), count: collected.samples, heldOut: calibration.heldOut.length },
    excluded: plan.excluded,
    rewrites: rewrites.filter((r) => r.nodes.length > 0),
    summary,
    fusion,
    sizes: { fp32Bytes, int8Bytes: bytes.length, ratio: bytes.length / fp32Bytes },
    quantization,
    skipped: [],
  };

  if (options.agreement === false) result.skipped.push('agreement: turned off');
  else if (!meta) result.skipped.push('agreement: the model has no Kestrel metadata (decoder, labels)');
  else if (calibration.heldOut.length === 0) result.skipped.push('agreement: no held-out images (give at least 2 calibration images)');
  else {
    result.agreement = await measureAgreement(inputPath, options.output, calibration.heldOut, {
      threads: options.threads,
      overrides: options.overrides,
      onImage: (done) => options.onProgress?.({ phase: 'agreement', done, total: calibration.heldOut.length }),
    });
  }

  if (options.benchmark === false) result.skipped.push('throughput: turned off');
  else {
    const bench = typeof options.benchmark === 'object' ? options.benchmark : {};
    const input = meta && calibration.heldOut.length > 0 ? await loadImageTensor(calibration.heldOut[0], meta.input) : undefined;
    result.throughput = await benchmarkModels(
      [
        { label: 'fp32', path: inputPath },
        { label: 'int8', path: options.output },
      ],
      { threads: options.threads ?? 1, ...bench, ...(input ? { input } : {}), onRun: (done, total) => options.onProgress?.({ phase: 'benchmark', done, total }) },
    );
  }
  return result;
}

function setProp(model: ModelProto, key: string, value: string): void {
  const kept = (model.metadataProps ?? []).filter((p) => p.key !== key);
  model.metadataProps = [...kept, { key, value }] as ModelProto['metadataProps'];
}

function countOps(model: ModelProto, op: string): number {
  return (model.graph?.node ?? []).filter((n) => n.opType === op).length;
}

async function writeOutput(path: string, bytes: Uint8Array): Promise<void> {
  try {
    await writeFileAtomic(path, bytes);
  } catch (err) {
    throw new KestrelError('E_OUTPUT_WRITE', `cannot write ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
}

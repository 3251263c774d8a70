// @kestrel/quantize: static INT8 post-training quantization (QDQ) of ONNX models, with
// calibration, a fusion check, and an accuracy/speed report.
export { quantizeModel, DEFAULT_METHOD, DEFAULT_MAX_CALIBRATION_IMAGES, type QuantizeResult } from './quantize.js';
export { PROFILES, PROFILE_SETTINGS, type QuantizeOptions, type QuantizeProfile, type QuantizeProgress, type QuantizePhase } from './options.js';
export { benchmarkModels, median, type BenchmarkModel, type BenchmarkOptions, type BenchmarkResult, type ModelTiming } from './report/benchmark.js';
export { describeCpu, type CpuInfo } from './report/cpu.js';
export { measureAgreement, type AgreementReport, type AgreementOptions, type OutputDifference } from './report/agreement.js';
export { formatReport } from './report/format.js';
export { verifyFusion, optimizedOps, type FusionReport } from './verify/fusion.js';
export { CALIBRATION_METHODS, createCalibrator, type CalibrationMethod, type Calibrator } from './calib/calibrators.js';
export { findCalibrationImages, type CalibrationSource } from './calib/images.js';
export type { TensorFeed } from './calib/collect.js';
export { computeQuantParams, roundHalfToEven, quantizeWeights, quantizeBias, type QuantParams, type QuantRange, type QuantType } from './math/qparams.js';
export { registerQuantizeCommands } from './commands.js';

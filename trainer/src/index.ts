// @kestrel/trainer: datasets, augmentation, the Kestrel detector, training, distillation,
// evaluation and ONNX export, on TensorFlow.js (the fastest backend that loads).
export { registerTrainerCommands } from './commands.js';
export { selectBackend, useBackend, describeBackend, type BackendInfo, type BackendChoice } from './backend/select.js';
export type { Dataset, DatasetItem, LabelBox, Sample, SplitName, DatasetManifest } from './data/types.js';
export { loadDataset, datasetHash, splitItems, writeManifest, readManifest } from './data/dataset.js';
export { importDataset, type ImportOptions, type ImportReport } from './data/import.js';
export { datasetStats, formatStats, type DatasetStats } from './data/stats.js';
export { splitDataset, splitIds, effectiveSplits, type SplitOptions } from './data/split.js';
export { augmentSample, DEFAULT_AUGMENT, NO_AUGMENT, type AugmentOptions } from './data/augment/pipeline.js';
export { showAugmented, type ShowOptions } from './data/show.js';
export { synthFactoryDataset, renderFactoryScene, FACTORY_CLASSES, type FactorySynthOptions } from './data/synth/factory.js';
export { parseYoloLabels, formatYoloLabels } from './data/yolo-labels.js';
export { buildDetector, forward, anchorPoints, type KestrelModel } from './model/build.js';
export { resolveDetectorConfig, DEFAULT_DETECTOR, type DetectorConfig } from './model/config.js';
export { detectorMetadata, detectorInputSpec } from './model/metadata.js';
export { saveCheckpoint, loadCheckpoint, isCheckpoint, type TrainingState } from './model/checkpoint.js';
export { train, fitness, type TrainResult } from './train/trainer.js';
export type { TrainOptions } from './train/options.js';
export { evaluate, evaluatePredictor, openPredictor, type EvaluateOptions, type EvalReport } from './eval/evaluate.js';
export { CheckpointPredictor, OnnxPredictor, type Predictor } from './eval/predictors.js';
export { exportCheckpoint, buildOnnx, type ExportOptions, type ExportReport } from './export/export-onnx.js';
export { distill, compareSpeed, type DistillOptions, type DistillReport } from './distill/distill.js';
export { labelWithTeacher, type TeacherLabelOptions } from './distill/teacher.js';

// @kestrel/importer: TensorFlow.js graph models (model.json + weight shards) to ONNX, with the
// Kestrel metadata the agent reads. Its users are `kestrel import` (which loads it only when run)
// and scripts/build-default-model.ts.
export { importTfjsGraphModel, importTfjsGraphModelWithReport, IMPORTER_VERSION, type TfjsImportOptions, type TfjsImportResult } from './import.js';
export { importNanodet, nanodetImportOptions, nanodetMetadata, checkNanodetSignature, graphSignature, NANODET_OUTPUT_NAMES, NANODET_OUTPUT_SHAPES, NANODET_INPUT_NAME, NANODET_SOURCE } from './nanodet.js';
export { supportedOps } from './ops/index.js';

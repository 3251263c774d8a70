export { importTfjsGraphModel, importTfjsGraphModelWithReport, IMPORTER_VERSION, type TfjsImportOptions, type TfjsImportResult } from './import.js';
export { importNanodet, nanodetImportOptions, nanodetMetadata, checkNanodetSignature, graphSignature, NANODET_OUTPUT_NAMES, NANODET_OUTPUT_SHAPES, NANODET_INPUT_NAME, NANODET_SOURCE } from './nanodet.js';
export { supportedOps } from './ops/index.js';

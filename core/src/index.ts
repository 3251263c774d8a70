// @kestrel/core: what every part shares. Nothing here imports from the parts above it.
export * from './util/errors.js';
export * from './util/log.js';
export * from './onnx/proto.js';
export * from './onnx/io.js';
export * from './model/metadata.js';
export * from './model/coco.js';
export * from './model/bundled.js';
export * from './image/letterbox.js';
export * from './image/preprocess.js';
export * from './image/annotate.js';
export * from './detect/types.js';
export * from './detect/box.js';
export * from './detect/nms.js';
export * from './detect/decoders/index.js';
export * from './detect/detector.js';
export * from './runtime/providers.js';
export * from './version.js';

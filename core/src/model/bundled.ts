import { fileURLToPath } from 'node:url';

/**
 * The bundled default detector: NanoDet-416 (COCO, 80 classes) converted from TensorFlow.js and
 * committed under models/ (see models/README.md). core/src and core/dist both sit two levels
 * below the repository root.
 */
export const BUNDLED_MODEL_PATH: string = fileURLToPath(new URL('../../../models/nanodet-416.onnx', import.meta.url));

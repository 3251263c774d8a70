// Where calibration samples come from: images through the model's own preprocessing (a folder
// or the agent's frames buffer, some held out for the agreement check), or tensors given by an
// API caller for models that do not read images.
import type { ModelProto } from '@kestrel/core/onnx/io';
import type { KestrelMetadata } from '@kestrel/core/model/metadata';
import { KestrelError } from '@kestrel/core/util/errors';
import type { QuantizeOptions } from '../options.js';
import type { TensorFeed } from './collect.js';
import { evenlySpaced, findCalibrationImages, loadImageTensor, splitHeldOut } from './images.js';

export const DEFAULT_MAX_CALIBRATION_IMAGES = 200;

export interface CalibrationInputs {
  source: 'images' | 'frames' | 'tensors';
  root?: string;
  feeds: Iterable<TensorFeed> | AsyncIterable<TensorFeed>;
  count: number;
  heldOut: string[];
}

export async function calibrationInputs(model: ModelProto, meta: KestrelMetadata | undefined, options: QuantizeOptions): Promise<CalibrationInputs> {
  if (options.calibrationData) {
    return { source: 'tensors', feeds: options.calibrationData, count: options.calibrationDataCount ?? 0, heldOut: options.heldOutImages ?? [] };
  }
  if (!options.calib) {
    throw new KestrelError('E_CALIB_MISSING', 'static quantization needs calibration images: give --calib <folder of images | frames buffer>');
  }
  const found = await findCalibrationImages(options.calib);
  if (!meta) {
    throw new KestrelError('E_MODEL_METADATA', 'the model has no Kestrel metadata, so calibration images cannot be preprocessed; export it with metadata (kestrel export) or pass overrides');
  }
  const split = options.heldOutImages ? { calibration: found.images, heldOut: options.heldOutImages } : splitHeldOut(found.images);
  // Held-out images are only read after the model is written: check now that they decode, so a
  // bad one fails the run before anything reaches the output path.
  for (const path of split.heldOut) await loadImageTensor(path, meta.input);
  const images = evenlySpaced(split.calibration, options.maxCalibrationImages ?? DEFAULT_MAX_CALIBRATION_IMAGES);
  const inputName = modelInputName(model);
  const dims = [1, 3, meta.input.height, meta.input.width];
  async function* feeds(): AsyncGenerator<TensorFeed> {
    for (const path of images) yield { [inputName]: { data: await loadImageTensor(path, meta!.input), dims } };
  }
  return { source: found.kind, root: found.root, feeds: feeds(), count: images.length, heldOut: split.heldOut };
}

function modelInputName(model: ModelProto): string {
  const inits = new Set((model.graph?.initializer ?? []).map((t) => t.name));
  const inputs = (model.graph?.input ?? []).filter((i) => !inits.has(i.name));
  if (inputs.length !== 1) {
    throw new KestrelError('E_MODEL_INPUT', `the model has ${inputs.length} inputs; image calibration needs exactly one (the image)`);
  }
  return inputs[0].name ?? '';
}

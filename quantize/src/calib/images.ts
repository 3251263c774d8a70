// Calibration images: a folder of photos, or the agent's active-learning buffer (a folder of
// JPEGs with an index.sqlite beside them). Images are decoded one at a time through the same
// preprocessing the agent uses, so memory stays bounded however many frames there are.
import { readdir, stat } from 'node:fs/promises';
import { basename, dirname, extname, join } from 'node:path';
import { imageToInput, type PreparedInput } from '@kestrel/core/image/preprocess';
import type { InputSpec } from '@kestrel/core/model/metadata';
import { KestrelError, isKestrelError } from '@kestrel/core/util/errors';

const IMAGE_EXTENSIONS = new Set(['.jpg', '.jpeg', '.png']);
/** The agent's frame buffer keeps its index here; its JPEGs sit in the same folder tree. */
export const FRAMES_INDEX = 'index.sqlite';

export interface CalibrationSource {
  kind: 'images' | 'frames';
  root: string;
  images: string[];
}

/** Every .jpg/.jpeg/.png under `path`, sorted, or a clear error when there are none. */
export async function findCalibrationImages(path: string): Promise<CalibrationSource> {
  let root = path;
  let info;
  try {
    info = await stat(path);
  } catch {
    throw new KestrelError('E_CALIB_MISSING', `calibration folder ${path} does not exist; give --calib a folder of images or the agent's frames buffer`);
  }
  if (info.isFile()) {
    if (basename(path) !== FRAMES_INDEX) {
      throw new KestrelError('E_CALIB_NOT_FOLDER', `--calib ${path} is a file; give a folder of images (or the frames buffer's ${FRAMES_INDEX})`);
    }
    root = dirname(path);
  }
  const images: string[] = [];
  let isFrames = false;
  await walk(root, images, (hasIndex) => (isFrames ||= hasIndex));
  images.sort();
  if (images.length === 0) {
    throw new KestrelError('E_CALIB_EMPTY', `calibration folder ${root} holds no .jpg, .jpeg or .png images; add a few hundred frames like the ones the camera will see`);
  }
  return { kind: isFrames ? 'frames' : 'images', root, images };
}

async function walk(dir: string, out: string[], sawIndex: (yes: boolean) => void): Promise<void> {
  const entries = await readdir(dir, { withFileTypes: true });
  for (const e of entries) {
    const full = join(dir, e.name);
    if (e.isDirectory()) await walk(full, out, sawIndex);
    else if (e.isFile() && IMAGE_EXTENSIONS.has(extname(e.name).toLowerCase())) out.push(full);
    else if (e.isFile() && e.name === FRAMES_INDEX) sawIndex(true);
  }
}

/**
 * Splits images into calibration and held-out sets deterministically: every `every`-th image
 * is held out (at least one when there are two or more), so the agreement check never scores
 * the model on images it was calibrated on.
 */
export function splitHeldOut(images: readonly string[], every = 5, maxHeldOut = 50): { calibration: string[]; heldOut: string[] } {
  if (images.length < 2) return { calibration: [...images], heldOut: [] };
  const heldOut: string[] = [];
  const calibration: string[] = [];
  images.forEach((img, i) => ((i % every === every - 1 || (i === images.length - 1 && heldOut.length === 0)) && heldOut.length < maxHeldOut ? heldOut : calibration).push(img));
  return { calibration, heldOut };
}

/** Evenly spaced subset of at most `limit` items (keeps variety when a buffer is huge). */
export function evenlySpaced<T>(items: readonly T[], limit: number): T[] {
  if (items.length <= limit) return [...items];
  return Array.from({ length: limit }, (_, i) => items[Math.floor((i * items.length) / limit)]);
}

/** The model input for one image (and its letterbox), with an error naming the file if it fails. */
export async function loadImageInput(path: string, spec: InputSpec): Promise<PreparedInput> {
  try {
    return await imageToInput(path, spec);
  } catch (err) {
    const reason = isKestrelError(err) ? err.message : (err as Error).message;
    throw new KestrelError('E_CALIB_IMAGE', `cannot use calibration image ${path}: ${reason}; remove it or replace it with a readable JPEG/PNG`);
  }
}

export async function loadImageTensor(path: string, spec: InputSpec): Promise<Float32Array> {
  return (await loadImageInput(path, spec)).tensor;
}

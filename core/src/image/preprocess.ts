import sharp from 'sharp';
import { letterboxGeometry, type LetterboxGeometry } from './letterbox.js';
import { DEFAULT_PAD_VALUE, type InputSpec } from '../model/metadata.js';
import { KestrelError } from '../util/errors.js';

export interface PreparedInput {
  tensor: Float32Array;
  geometry: LetterboxGeometry;
}

/** Decoded RGB pixels of an image file or buffer, orientation applied. */
export interface RgbImage {
  data: Buffer;
  width: number;
  height: number;
}

function describe(source: string | Buffer): string {
  return typeof source === 'string' ? source : 'image buffer';
}

/** Reads an image's size, with an error naming the file when it is missing or not an image. */
export async function imageSize(source: string | Buffer): Promise<{ width: number; height: number }> {
  try {
    const meta = await sharp(source).rotate().metadata();
    if (!meta.width || !meta.height) throw new Error('no dimensions');
    // autoOrient swaps width/height for EXIF orientations 5..8.
    const swap = (meta.orientation ?? 1) >= 5;
    return swap ? { width: meta.height, height: meta.width } : { width: meta.width, height: meta.height };
  } catch (err) {
    throw imageError(source, err);
  }
}

function imageError(source: string | Buffer, err: unknown): KestrelError {
  const msg = (err as Error).message ?? String(err);
  if (typeof source === 'string' && /no such file|ENOENT|Input file is missing/i.test(msg)) {
    return new KestrelError('E_IMAGE_MISSING', `image not found: ${source}`);
  }
  return new KestrelError('E_IMAGE_DECODE', `${describe(source)} is not a readable image (${msg.split('\n')[0]})`);
}

/**
 * Letterboxes an image into the model's input size as packed RGB (HWC uint8), the same bytes the
 * agent gets from ffmpeg's scale+pad filter.
 */
export async function letterboxImage(source: string | Buffer, spec: InputSpec): Promise<{ rgb: Buffer; geometry: LetterboxGeometry }> {
  const { width, height } = await imageSize(source);
  const geometry = letterboxGeometry(width, height, spec.width, spec.height, spec.letterbox);
  const pad = spec.padValue ?? DEFAULT_PAD_VALUE;
  try {
    const rgb = await sharp(source)
      .rotate()
      .removeAlpha()
      .resize(geometry.scaledWidth, geometry.scaledHeight, { fit: 'fill', kernel: 'linear' })
      .extend({
        left: geometry.padX,
        top: geometry.padY,
        right: spec.width - geometry.scaledWidth - geometry.padX,
        bottom: spec.height - geometry.scaledHeight - geometry.padY,
        background: { r: pad, g: pad, b: pad },
      })
      .toColourspace('srgb')
      .raw()
      .toBuffer();
    return { rgb, geometry };
  } catch (err) {
    throw imageError(source, err);
  }
}

/** Decodes an image to packed RGB at its own size. */
export async function decodeRgb(source: string | Buffer): Promise<RgbImage> {
  try {
    const { data, info } = await sharp(source).rotate().removeAlpha().toColourspace('srgb').raw().toBuffer({ resolveWithObject: true });
    return { data, width: info.width, height: info.height };
  } catch (err) {
    throw imageError(source, err);
  }
}

/**
 * Packed RGB (HWC uint8) → NCHW float32 in the model's colour order, (x - mean) / std.
 * `out` is reused when given: the agent calls this for every frame.
 */
export function rgbToTensor(rgb: Uint8Array, spec: InputSpec, out?: Float32Array): Float32Array {
  const plane = spec.width * spec.height;
  if (rgb.length !== plane * 3) {
    throw new RangeError(`frame has ${rgb.length} bytes, expected ${plane * 3} for ${spec.width}x${spec.height} RGB`);
  }
  const tensor = out && out.length === plane * 3 ? out : new Float32Array(plane * 3);
  const bgr = spec.colour === 'BGR';
  // Channel c of the tensor reads source channel src[c] (RGB order in memory).
  const src = bgr ? [2, 1, 0] : [0, 1, 2];
  for (let c = 0; c < 3; c++) {
    const s = src[c];
    const mean = spec.mean[c];
    const inv = 1 / spec.std[c];
    const base = c * plane;
    for (let i = 0, j = s; i < plane; i++, j += 3) tensor[base + i] = (rgb[j] - mean) * inv;
  }
  return tensor;
}

/** An image file or buffer → the model's input tensor and the geometry to map boxes back. */
export async function imageToInput(source: string | Buffer, spec: InputSpec): Promise<PreparedInput> {
  const { rgb, geometry } = await letterboxImage(source, spec);
  return { tensor: rgbToTensor(rgb, spec), geometry };
}

import sharp from 'sharp';
import type { Box } from '@kestrel/core/image/letterbox';

/** How a snapshot is shown: the box drawn or not, the whole picture or the object's crop. */
export interface RenderOptions {
  drawBox: boolean;
  crop: boolean;
  quality: number;
}

/** The kept picture: the clean JPEG of the frame's picture region (padding cut away). */
export interface CleanPicture {
  jpeg: Buffer;
  /** The JPEG's size (the model input's picture region). */
  imageSize: [number, number];
  /** The camera's resolution, which `box` is in. */
  frameSize: [number, number];
  box: Box;
}

/** Frigate's box colour for a person is a strong orange-red; one colour for every label keeps it simple. */
const BOX_RGB = [255, 64, 0] as const;
/** A crop reaches this fraction of the box's size beyond each side, so the object is seen in its place. */
const CROP_MARGIN = 0.25;
/** ... and is at least this many pixels on a side (a far person is a few pixels wide). */
const MIN_CROP = 32;

/**
 * The JPEG a viewer gets. The clean picture as it is when nothing is to be drawn or cut;
 * otherwise decoded once, drawn on in place and cut, and encoded again (a few milliseconds at
 * model-input size, in libvips' threads).
 */
export async function renderSnapshot(picture: CleanPicture, options: RenderOptions): Promise<Buffer> {
  if (!options.drawBox && !options.crop) return picture.jpeg;
  const { data, info } = await sharp(picture.jpeg).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  const [w, h] = [info.width, info.height];
  const box = toImage(picture.box, picture.frameSize, [w, h]);
  // At least 2 pixels: JPEG halves the colour resolution, and a 1-pixel line comes out faint.
  if (options.drawBox) drawRect(data, w, h, box, Math.max(2, Math.round(Math.min(w, h) / 120)));
  let image = sharp(data, { raw: { width: w, height: h, channels: 3 } });
  if (options.crop) {
    const bw = box[2] - box[0];
    const bh = box[3] - box[1];
    const cw = Math.min(w, Math.max(MIN_CROP, Math.round(bw * (1 + 2 * CROP_MARGIN))));
    const ch = Math.min(h, Math.max(MIN_CROP, Math.round(bh * (1 + 2 * CROP_MARGIN))));
    const left = clamp(Math.round((box[0] + box[2]) / 2 - cw / 2), 0, w - cw);
    const top = clamp(Math.round((box[1] + box[3]) / 2 - ch / 2), 0, h - ch);
    image = image.extract({ left, top, width: cw, height: ch });
  }
  return image.jpeg({ quality: options.quality, mozjpeg: false }).toBuffer();
}

/** Source-pixel box → whole image pixels, inside the image. */
function toImage(box: Box, frame: [number, number], image: [number, number]): Box {
  const sx = image[0] / frame[0];
  const sy = image[1] / frame[1];
  return [
    clamp(Math.round(box[0] * sx), 0, image[0] - 1),
    clamp(Math.round(box[1] * sy), 0, image[1] - 1),
    clamp(Math.round(box[2] * sx), 0, image[0] - 1),
    clamp(Math.round(box[3] * sy), 0, image[1] - 1),
  ];
}

/** A rectangle's outline, `thickness` pixels inward, on RGB24 pixels. */
function drawRect(rgb: Uint8Array, width: number, height: number, [x1, y1, x2, y2]: Box, thickness: number): void {
  const fill = (xa: number, ya: number, xb: number, yb: number) => {
    for (let y = Math.max(0, ya); y <= Math.min(height - 1, yb); y++) {
      for (let x = Math.max(0, xa); x <= Math.min(width - 1, xb); x++) {
        const i = (y * width + x) * 3;
        rgb[i] = BOX_RGB[0];
        rgb[i + 1] = BOX_RGB[1];
        rgb[i + 2] = BOX_RGB[2];
      }
    }
  };
  const t = thickness - 1;
  fill(x1, y1, x2, y1 + t);
  fill(x1, y2 - t, x2, y2);
  fill(x1, y1, x1 + t, y2);
  fill(x2 - t, y1, x2, y2);
}

function clamp(v: number, lo: number, hi: number): number {
  return Math.min(hi, Math.max(lo, v));
}

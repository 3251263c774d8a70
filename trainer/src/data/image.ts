// Image I/O with sharp: decode any image to RGB bytes, encode RGB bytes, and draw labelled boxes
// by compositing an SVG overlay (sharp renders it with librsvg, so text and strokes are crisp).
import sharp from 'sharp';
import { KestrelError } from '@kestrel/core/util/errors';
import type { Box } from './types.js';

export interface RgbImage {
  width: number;
  height: number;
  /** RGB, HWC, uint8. */
  data: Uint8Array;
}

export async function decodeImage(input: string | Buffer): Promise<RgbImage> {
  try {
    const { data, info } = await sharp(input).rotate().removeAlpha().toColourspace('srgb').raw().toBuffer({ resolveWithObject: true });
    return { width: info.width, height: info.height, data: new Uint8Array(data.buffer, data.byteOffset, data.length) };
  } catch (err) {
    const name = typeof input === 'string' ? input : 'image buffer';
    throw new KestrelError('E_IMAGE_DECODE', `cannot decode ${name}: ${(err as Error).message}`);
  }
}

export async function imageSize(path: string): Promise<{ width: number; height: number }> {
  try {
    const meta = await sharp(path).metadata();
    // EXIF orientations 5..8 swap width and height once the image is rotated upright.
    const swap = (meta.orientation ?? 1) >= 5;
    return swap ? { width: meta.height!, height: meta.width! } : { width: meta.width!, height: meta.height! };
  } catch (err) {
    throw new KestrelError('E_IMAGE_DECODE', `cannot read image ${path}: ${(err as Error).message}`);
  }
}

export function rawInput(img: RgbImage): sharp.Sharp {
  return sharp(Buffer.from(img.data.buffer, img.data.byteOffset, img.data.length), { raw: { width: img.width, height: img.height, channels: 3 } });
}

export async function encodePng(img: RgbImage): Promise<Buffer> {
  return rawInput(img).png({ compressionLevel: 6 }).toBuffer();
}

export async function encodeJpeg(img: RgbImage, quality = 90): Promise<Buffer> {
  return rawInput(img).jpeg({ quality, chromaSubsampling: '4:4:4' }).toBuffer();
}

export interface DrawnBox {
  box: Box;
  label: string;
  colour?: string;
  /** Dashed outline (ground truth next to predictions). */
  dashed?: boolean;
}

/** Distinct, readable colours for class ids. */
export const PALETTE = ['#e6194b', '#3cb44b', '#4363d8', '#f58231', '#911eb4', '#42d4f4', '#f032e6', '#bfef45', '#fabed4', '#469990', '#dcbeff', '#9a6324', '#800000', '#aaffc3', '#808000', '#000075'];

export function classColour(classId: number): string {
  return PALETTE[classId % PALETTE.length];
}

export function escapeXml(s: string): string {
  return s.replace(/[<>&'"]/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', "'": '&apos;', '"': '&quot;' })[c]!);
}

/** SVG elements for boxes with labels, in pixel coordinates of a `width`×`height` picture. */
export function boxesSvg(boxes: readonly DrawnBox[], width: number, height: number, offsetX = 0, offsetY = 0): string {
  const font = Math.max(9, Math.round(Math.min(width, height) / 32));
  return boxes
    .map(({ box: [x1, y1, x2, y2], label, colour = '#00ff00', dashed }) => {
      const x = offsetX + Math.max(0, x1);
      const y = offsetY + Math.max(0, y1);
      const w = Math.max(1, Math.min(width, x2) - Math.max(0, x1));
      const h = Math.max(1, Math.min(height, y2) - Math.max(0, y1));
      const ty = y - 2 < offsetY + font ? y + font : y - 2;
      const dash = dashed ? ' stroke-dasharray="4,3"' : '';
      const text = label ? `<text x="${x + 1}" y="${ty}" font-family="DejaVu Sans, sans-serif" font-size="${font}" fill="${colour}" stroke="#000" stroke-width="0.4">${escapeXml(label)}</text>` : '';
      return `<rect x="${x}" y="${y}" width="${w}" height="${h}" fill="none" stroke="${colour}" stroke-width="1.5"${dash}/>${text}`;
    })
    .join('');
}

/** The image with boxes drawn on it, as PNG bytes. */
export async function drawBoxesPng(img: RgbImage, boxes: readonly DrawnBox[]): Promise<Buffer> {
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${img.width}" height="${img.height}">${boxesSvg(boxes, img.width, img.height)}</svg>`;
  return rawInput(img).composite([{ input: Buffer.from(svg), top: 0, left: 0 }]).png().toBuffer();
}

/** Tiles images (all the same size) into one PNG, `columns` wide, with optional box overlays. */
export async function gridPng(tiles: Array<{ image: RgbImage; boxes: DrawnBox[] }>, columns: number, gap = 4): Promise<Buffer> {
  if (tiles.length === 0) throw new Error('gridPng needs at least one tile');
  const tw = tiles[0].image.width;
  const th = tiles[0].image.height;
  const rows = Math.ceil(tiles.length / columns);
  const width = columns * tw + (columns + 1) * gap;
  const height = rows * th + (rows + 1) * gap;
  const composites: sharp.OverlayOptions[] = [];
  let overlay = '';
  tiles.forEach((tile, i) => {
    const left = gap + (i % columns) * (tw + gap);
    const top = gap + Math.floor(i / columns) * (th + gap);
    composites.push({ input: Buffer.from(tile.image.data.buffer, tile.image.data.byteOffset, tile.image.data.length), raw: { width: tile.image.width, height: tile.image.height, channels: 3 }, left, top });
    overlay += boxesSvg(tile.boxes, tw, th, left, top);
  });
  composites.push({ input: Buffer.from(`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}">${overlay}</svg>`), left: 0, top: 0 });
  return sharp({ create: { width, height, channels: 3, background: '#202020' } }).composite(composites).png().toBuffer();
}

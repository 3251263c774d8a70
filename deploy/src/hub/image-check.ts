import sharp from 'sharp';
import { readJpegHeader } from './jpeg-header.js';

export interface JpegInfo {
  width: number;
  height: number;
}

export type JpegCheck = { ok: true; info: JpegInfo } | { ok: false; reason: string };

/** The size a JPEG's header claims, refused when it is larger than `maxPixels`; nothing is decoded. */
export function checkJpegHeader(data: Buffer, maxPixels: number): JpegCheck {
  if (data.length < 4 || data[0] !== 0xff || data[1] !== 0xd8 || data[2] !== 0xff) {
    return { ok: false, reason: `not a JPEG (it starts with ${data.subarray(0, 4).toString('hex') || 'nothing'}, a JPEG with ffd8ff)` };
  }
  const header = readJpegHeader(data);
  if (!header.ok) return header;
  const pixels = header.width * header.height;
  if (pixels > maxPixels) {
    return { ok: false, reason: `${header.width}×${header.height} is ${pixels} pixels; this hub takes images up to ${maxPixels} pixels (limits.maxImagePixels)` };
  }
  return { ok: true, info: { width: header.width, height: header.height } };
}

/**
 * Whether `data` is a JPEG that decodes completely: every pixel decodes without libjpeg
 * complaining (sharp's default failOn 'warning' — a truncated or corrupt file is refused rather
 * than stored as training data with grey rows in it). Returns its size, or why not. Call it
 * after checkJpegHeader, inside a decode slot.
 */
export async function decodeJpeg(data: Buffer, maxPixels: number): Promise<JpegCheck> {
  try {
    // limitInputPixels is the decoder's own guard, should a header the walk read differ from libjpeg's.
    const { info } = await sharp(data, { failOn: 'warning', limitInputPixels: maxPixels }).raw().toBuffer({ resolveWithObject: true });
    return { ok: true, info: { width: info.width, height: info.height } };
  } catch (err) {
    return { ok: false, reason: `not a readable JPEG (${(err as Error).message.split('\n')[0]})` };
  }
}

import sharp from 'sharp';

export interface JpegInfo {
  width: number;
  height: number;
}

/**
 * Whether `data` is a JPEG that decodes completely: the header says JPEG and every pixel decodes
 * without libjpeg complaining (sharp's default failOn 'warning' — a truncated or corrupt file is
 * refused rather than stored as training data with grey rows in it). Returns its size, or why not.
 */
export async function checkJpeg(data: Buffer): Promise<{ ok: true; info: JpegInfo } | { ok: false; reason: string }> {
  if (data.length < 4 || data[0] !== 0xff || data[1] !== 0xd8 || data[2] !== 0xff) {
    return { ok: false, reason: `not a JPEG (it starts with ${data.subarray(0, 4).toString('hex') || 'nothing'}, a JPEG with ffd8ff)` };
  }
  try {
    const { info } = await sharp(data, { failOn: 'warning', limitInputPixels: 50_000_000 }).raw().toBuffer({ resolveWithObject: true });
    return { ok: true, info: { width: info.width, height: info.height } };
  } catch (err) {
    return { ok: false, reason: `not a readable JPEG (${(err as Error).message.split('\n')[0]})` };
  }
}

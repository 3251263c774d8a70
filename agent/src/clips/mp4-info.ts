import { open } from 'node:fs/promises';

export interface Mp4Info {
  /** Top-level box types in file order (`ftyp`, `moov`, `mdat`, ... with faststart moov before mdat). */
  boxes: string[];
  /** The movie's duration (mvhd), seconds. */
  durationS: number;
}

/**
 * Reads an MP4's top-level box list and its movie header's duration: the clip's length comes
 * from the file ffmpeg wrote, without ffprobe (which device installs may not have). Only box
 * headers and the moov box are read.
 */
export async function readMp4Info(path: string): Promise<Mp4Info> {
  const file = await open(path, 'r');
  try {
    const size = (await file.stat()).size;
    const boxes: string[] = [];
    let durationS: number | undefined;
    const header = Buffer.alloc(16);
    for (let at = 0; at + 8 <= size; ) {
      await file.read(header, 0, 16, at);
      let length = header.readUInt32BE(0);
      const type = header.toString('latin1', 4, 8);
      let headerLength = 8;
      if (length === 1) {
        length = Number(header.readBigUInt64BE(8));
        headerLength = 16;
      } else if (length === 0) {
        length = size - at;
      }
      if (length < headerLength) throw new Error(`${path}: box "${type}" at ${at} has a bad length ${length}`);
      boxes.push(type);
      if (type === 'moov') {
        const moov = Buffer.alloc(length - headerLength);
        await file.read(moov, 0, moov.length, at + headerLength);
        durationS = mvhdDuration(moov);
      }
      at += length;
    }
    if (durationS === undefined) throw new Error(`${path}: no moov box with a movie header`);
    return { boxes, durationS };
  } finally {
    await file.close();
  }
}

/** The duration in the mvhd box among moov's children (version 0: 32-bit fields, 1: 64-bit). */
function mvhdDuration(moov: Buffer): number | undefined {
  for (let at = 0; at + 8 <= moov.length; ) {
    const length = moov.readUInt32BE(at);
    const type = moov.toString('latin1', at + 4, at + 8);
    if (length < 8) return undefined;
    if (type === 'mvhd') {
      const version = moov[at + 8];
      if (version === 1) return Number(moov.readBigUInt64BE(at + 32)) / moov.readUInt32BE(at + 28);
      return moov.readUInt32BE(at + 24) / moov.readUInt32BE(at + 20);
    }
    at += length;
  }
  return undefined;
}

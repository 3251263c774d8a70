/**
 * A JPEG's frame size read from its SOF header, without decoding anything: the hub decides
 * whether it will decode an image from these few bytes. A 7000×7000 JPEG is a few hundred KB on
 * the wire and 147 MB of pixels once decoded; four of them in parallel once took a hub to 1.1 GB.
 * Written here because the header walk is 30 lines and the image libraries only offer it after
 * handing the whole buffer to a decoder.
 */

export type JpegHeader = { ok: true; width: number; height: number } | { ok: false; reason: string };

// SOF0–SOF15 carry the frame size; C4 (DHT), C8 (JPG) and CC (DAC) share the range but are not frames.
const isStartOfFrame = (marker: number): boolean => marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc;
const START_OF_SCAN = 0xda;

export function readJpegHeader(data: Uint8Array): JpegHeader {
  if (data.length < 4 || data[0] !== 0xff || data[1] !== 0xd8) return { ok: false, reason: 'not a JPEG (no start-of-image marker)' };
  let at = 2;
  while (at + 4 <= data.length) {
    if (data[at] !== 0xff) return { ok: false, reason: `not a readable JPEG (no marker at byte ${at})` };
    const marker = data[at + 1];
    // Fill bytes (FF FF…) and the marker-only codes (TEM, RST0–7) carry no length.
    if (marker === 0xff) {
      at += 1;
      continue;
    }
    if (marker === 0x01 || (marker >= 0xd0 && marker <= 0xd7)) {
      at += 2;
      continue;
    }
    const length = (data[at + 2] << 8) | data[at + 3];
    if (length < 2) return { ok: false, reason: `not a readable JPEG (a segment at byte ${at} has length ${length})` };
    if (isStartOfFrame(marker)) {
      if (at + 9 > data.length) break;
      const height = (data[at + 5] << 8) | data[at + 6];
      const width = (data[at + 7] << 8) | data[at + 8];
      if (width === 0 || height === 0) return { ok: false, reason: `not a supported JPEG (its header gives a size of ${width}×${height})` };
      return { ok: true, width, height };
    }
    if (marker === START_OF_SCAN) return { ok: false, reason: 'not a readable JPEG (image data starts before any frame header)' };
    at += 2 + length;
  }
  return { ok: false, reason: 'not a readable JPEG (it ends before its frame header)' };
}

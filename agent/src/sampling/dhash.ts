/**
 * dHash ("difference hash"): the picture shrunk to 9×8 grey cells, one bit per pair of
 * horizontal neighbours (is the left one brighter?). Near-identical frames — the same scene a
 * second later, JPEG noise, small light changes — differ in a few of the 64 bits; a different
 * scene in about half.
 *
 * Written here instead of taking a package (sharp-phash is not installed, and a pHash's DCT buys
 * nothing for telling "the same view again" apart): the frame is already raw RGB in memory, so
 * the hash is one pass over its pixels — no decode, no resize library, synchronous, about a
 * millisecond for a 416×234 picture on this project's small machines — and the whole algorithm fits on one screen.
 */

export interface PixelRegion {
  x: number;
  y: number;
  width: number;
  height: number;
}

const COLS = 9;
const ROWS = 8;

/** dHash of `region` of an RGB24 HWC image `width` pixels wide, as 16 lower-case hex digits. */
export function dhashRgb(rgb: Uint8Array, width: number, region: PixelRegion): string {
  const sums = new Float64Array(COLS * ROWS);
  const counts = new Uint32Array(COLS * ROWS);
  // Box averaging: every source pixel lands in exactly one cell, so no pixel is skipped and
  // the hash does not depend on which pixels a sampling grid happened to hit.
  const cellOfX = new Uint8Array(region.width);
  for (let x = 0; x < region.width; x++) cellOfX[x] = Math.min(COLS - 1, Math.floor((x * COLS) / region.width));
  for (let y = 0; y < region.height; y++) {
    const rowCell = Math.min(ROWS - 1, Math.floor((y * ROWS) / region.height)) * COLS;
    let p = ((region.y + y) * width + region.x) * 3;
    for (let x = 0; x < region.width; x++, p += 3) {
      const cell = rowCell + cellOfX[x];
      // ITU-R BT.601 luma, integer weights.
      sums[cell] += 299 * rgb[p] + 587 * rgb[p + 1] + 114 * rgb[p + 2];
      counts[cell]++;
    }
  }
  let hi = 0;
  let lo = 0;
  for (let row = 0; row < ROWS; row++) {
    for (let col = 0; col < COLS - 1; col++) {
      const left = sums[row * COLS + col] / Math.max(1, counts[row * COLS + col]);
      const right = sums[row * COLS + col + 1] / Math.max(1, counts[row * COLS + col + 1]);
      const bit = row * (COLS - 1) + col;
      if (left > right) {
        if (bit < 32) lo |= 1 << bit;
        else hi |= 1 << (bit - 32);
      }
    }
  }
  return hex32(hi) + hex32(lo);
}

/** Bits that differ between two 16-hex-digit hashes (0–64). */
export function hammingDistance(a: string, b: string): number {
  if (a.length !== 16 || b.length !== 16) throw new RangeError(`dHash values are 16 hex digits, got "${a}" and "${b}"`);
  return popcount32(parseInt(a.slice(0, 8), 16) ^ parseInt(b.slice(0, 8), 16)) + popcount32(parseInt(a.slice(8), 16) ^ parseInt(b.slice(8), 16));
}

function hex32(v: number): string {
  return (v >>> 0).toString(16).padStart(8, '0');
}

function popcount32(v: number): number {
  let x = v >>> 0;
  x -= (x >>> 1) & 0x55555555;
  x = (x & 0x33333333) + ((x >>> 2) & 0x33333333);
  x = (x + (x >>> 4)) & 0x0f0f0f0f;
  return Math.imul(x, 0x01010101) >>> 24;
}

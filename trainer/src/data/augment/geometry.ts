// Axis-aligned geometric transforms (scale, translate, flip) applied to an image and its boxes
// with the same numbers, so a box always stays on its object. Rotation is left out on purpose:
// it would turn boxes into loose approximations.
import { DEFAULT_PAD_VALUE } from '@kestrel/core/model/metadata';
import type { Box, Sample } from '../types.js';

/** dst = src · s + t per axis; a negative scale flips that axis. */
export interface AxisTransform {
  sx: number;
  sy: number;
  tx: number;
  ty: number;
}

export interface Rect {
  x0: number;
  y0: number;
  x1: number;
  y1: number;
}

/**
 * Fills `rect` of the dst image (RGB HWC, dstW wide) by bilinear sampling of `src` through the
 * inverse of `t`; pixels that map outside the source get `pad`. Pixel centres sit at +0.5.
 */
export function resampleInto(dst: Uint8Array, dstW: number, rect: Rect, src: Sample | { width: number; height: number; data: Uint8Array }, t: AxisTransform, pad = DEFAULT_PAD_VALUE): void {
  const { width: W, height: H, data } = src;
  const invSx = 1 / t.sx;
  const invSy = 1 / t.sy;
  // Per-column source coordinates and weights are the same for every row: compute them once.
  const cols = rect.x1 - rect.x0;
  const x0s = new Int32Array(cols);
  const wxs = new Float32Array(cols);
  const xIn = new Uint8Array(cols);
  for (let i = 0; i < cols; i++) {
    const fx = (rect.x0 + i + 0.5 - t.tx) * invSx - 0.5;
    const ix = Math.floor(fx);
    x0s[i] = ix;
    wxs[i] = fx - ix;
    xIn[i] = fx > -1 && fx < W ? 1 : 0;
  }
  for (let y = rect.y0; y < rect.y1; y++) {
    const fy = (y + 0.5 - t.ty) * invSy - 0.5;
    const iy = Math.floor(fy);
    const wy = fy - iy;
    const yIn = fy > -1 && fy < H;
    const r0 = Math.min(H - 1, Math.max(0, iy));
    const r1 = Math.min(H - 1, Math.max(0, iy + 1));
    let o = (y * dstW + rect.x0) * 3;
    for (let i = 0; i < cols; i++, o += 3) {
      if (!yIn || !xIn[i]) {
        dst[o] = pad;
        dst[o + 1] = pad;
        dst[o + 2] = pad;
        continue;
      }
      const ix = x0s[i];
      const wx = wxs[i];
      const c0 = Math.min(W - 1, Math.max(0, ix)) * 3;
      const c1 = Math.min(W - 1, Math.max(0, ix + 1)) * 3;
      const a = r0 * W * 3;
      const b = r1 * W * 3;
      for (let k = 0; k < 3; k++) {
        const top = data[a + c0 + k] + (data[a + c1 + k] - data[a + c0 + k]) * wx;
        const bottom = data[b + c0 + k] + (data[b + c1 + k] - data[b + c0 + k]) * wx;
        dst[o + k] = top + (bottom - top) * wy + 0.5;
      }
    }
  }
}

export function transformBox(box: Box, t: AxisTransform): Box {
  const xa = box[0] * t.sx + t.tx;
  const xb = box[2] * t.sx + t.tx;
  const ya = box[1] * t.sy + t.ty;
  const yb = box[3] * t.sy + t.ty;
  return [Math.min(xa, xb), Math.min(ya, yb), Math.max(xa, xb), Math.max(ya, yb)];
}

export interface ClipRules {
  /** Drop a box when less than this share of its area survives clipping (an object cut away). */
  minVisible: number;
  /** Drop boxes thinner than this in pixels. */
  minSize: number;
}

export const DEFAULT_CLIP: ClipRules = { minVisible: 0.3, minSize: 2 };

/** Transformed boxes clipped to `rect`; boxes mostly cut away are dropped. */
export function transformBoxes(boxes: Sample['boxes'], t: AxisTransform, rect: Rect, rules: ClipRules = DEFAULT_CLIP): Sample['boxes'] {
  const out: Sample['boxes'] = [];
  for (const label of boxes) {
    const b = transformBox(label.box, t);
    const c: Box = [Math.max(rect.x0, b[0]), Math.max(rect.y0, b[1]), Math.min(rect.x1, b[2]), Math.min(rect.y1, b[3])];
    const w = c[2] - c[0];
    const h = c[3] - c[1];
    if (w < rules.minSize || h < rules.minSize) continue;
    const area = (b[2] - b[0]) * (b[3] - b[1]);
    if (area > 0 && (w * h) / area < rules.minVisible) continue;
    out.push({ ...label, box: c });
  }
  return out;
}

/** The transform that letterboxes a w×h image into size×size (centred, aspect kept). */
export function letterboxTransform(w: number, h: number, size: number): AxisTransform {
  const s = Math.min(size / w, size / h);
  return { sx: s, sy: s, tx: (size - w * s) / 2, ty: (size - h * s) / 2 };
}

/** Applies `t` to the whole sample, producing a size×size sample. */
export function warpSample(src: Sample, size: number, t: AxisTransform, pad = DEFAULT_PAD_VALUE, rules: ClipRules = DEFAULT_CLIP): Sample {
  const data = new Uint8Array(size * size * 3);
  const rect = { x0: 0, y0: 0, x1: size, y1: size };
  resampleInto(data, size, rect, src, t, pad);
  return { width: size, height: size, data, boxes: transformBoxes(src.boxes, t, rect, rules) };
}

/** Mirror left–right in place (exact, no resampling). */
export function flipHorizontal(s: Sample): Sample {
  const { width: W, height: H, data } = s;
  const out = new Uint8Array(data.length);
  for (let y = 0; y < H; y++) {
    const row = y * W * 3;
    for (let x = 0; x < W; x++) {
      const a = row + x * 3;
      const b = row + (W - 1 - x) * 3;
      out[a] = data[b];
      out[a + 1] = data[b + 1];
      out[a + 2] = data[b + 2];
    }
  }
  return { width: W, height: H, data: out, boxes: s.boxes.map((l) => ({ ...l, box: [W - l.box[2], l.box[1], W - l.box[0], l.box[3]] })) };
}

/** Mirror top–bottom (exact). */
export function flipVertical(s: Sample): Sample {
  const { width: W, height: H, data } = s;
  const out = new Uint8Array(data.length);
  const rowBytes = W * 3;
  for (let y = 0; y < H; y++) out.set(data.subarray((H - 1 - y) * rowBytes, (H - y) * rowBytes), y * rowBytes);
  return { width: W, height: H, data: out, boxes: s.boxes.map((l) => ({ ...l, box: [l.box[0], H - l.box[3], l.box[2], H - l.box[1]] })) };
}

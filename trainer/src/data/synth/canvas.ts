// A float RGB canvas with the few raster operations the synthetic scenes need: antialiased
// shapes from signed distance functions, blending, blurs and sensor noise. Plain pixel loops,
// so a seed gives the same picture on every machine (no font or SVG renderer in the loop).
import type { Rng } from '../rng.js';
import { gaussian } from '../rng.js';

export type Rgb = [number, number, number];

/** Signed distance in pixels: negative inside, positive outside. */
export type Sdf = (x: number, y: number) => number;

export class Canvas {
  readonly data: Float32Array;

  constructor(
    readonly width: number,
    readonly height: number,
  ) {
    this.data = new Float32Array(width * height * 3);
  }

  /** Calls `shade(x, y)` for every pixel in the rectangle and writes its colour. */
  paint(x0: number, y0: number, x1: number, y1: number, shade: (x: number, y: number, out: Rgb) => void): void {
    const out: Rgb = [0, 0, 0];
    const [ax, ay, bx, by] = this.clipRect(x0, y0, x1, y1);
    for (let y = ay; y < by; y++) {
      for (let x = ax; x < bx; x++) {
        shade(x + 0.5, y + 0.5, out);
        const o = (y * this.width + x) * 3;
        this.data[o] = out[0];
        this.data[o + 1] = out[1];
        this.data[o + 2] = out[2];
      }
    }
  }

  /**
   * Blends `shade` over the pixels inside `sdf` (within the bounding rectangle), with a one-pixel
   * antialiased edge and an overall `opacity`.
   */
  fill(sdf: Sdf, bounds: [number, number, number, number], shade: (x: number, y: number, d: number, out: Rgb) => void, opacity = 1): void {
    const out: Rgb = [0, 0, 0];
    const [ax, ay, bx, by] = this.clipRect(...bounds);
    for (let y = ay; y < by; y++) {
      for (let x = ax; x < bx; x++) {
        const px = x + 0.5, py = y + 0.5;
        const d = sdf(px, py);
        const coverage = d <= -0.5 ? 1 : d >= 0.5 ? 0 : 0.5 - d;
        if (coverage <= 0) continue;
        shade(px, py, d, out);
        const a = coverage * opacity;
        const o = (y * this.width + x) * 3;
        this.data[o] += (out[0] - this.data[o]) * a;
        this.data[o + 1] += (out[1] - this.data[o + 1]) * a;
        this.data[o + 2] += (out[2] - this.data[o + 2]) * a;
      }
    }
  }

  /** Multiplies pixels inside `sdf` by `factor` with a soft edge `softness` px wide (shadows). */
  darken(sdf: Sdf, bounds: [number, number, number, number], factor: number, softness: number): void {
    const [ax, ay, bx, by] = this.clipRect(...bounds);
    for (let y = ay; y < by; y++) {
      for (let x = ax; x < bx; x++) {
        const d = sdf(x + 0.5, y + 0.5);
        const t = d <= -softness ? 1 : d >= softness ? 0 : 0.5 - d / (2 * softness);
        if (t <= 0) continue;
        const f = 1 - (1 - factor) * t;
        const o = (y * this.width + x) * 3;
        this.data[o] *= f;
        this.data[o + 1] *= f;
        this.data[o + 2] *= f;
      }
    }
  }

  /** Per-pixel gain (lighting): `gain(x, y)` returns the multiplier for each channel. */
  light(gain: (x: number, y: number, out: Rgb) => void): void {
    const g: Rgb = [1, 1, 1];
    for (let y = 0; y < this.height; y++) {
      for (let x = 0; x < this.width; x++) {
        gain(x + 0.5, y + 0.5, g);
        const o = (y * this.width + x) * 3;
        this.data[o] *= g[0];
        this.data[o + 1] *= g[1];
        this.data[o + 2] *= g[2];
      }
    }
  }

  /** Horizontal box blur of `length` pixels: the smear of a belt moving under a slow shutter. */
  motionBlur(length: number): void {
    if (length < 2) return;
    const { width: W, height: H } = this;
    const row = new Float32Array(W * 3);
    const half = Math.floor(length / 2);
    for (let y = 0; y < H; y++) {
      const base = y * W * 3;
      for (let x = 0; x < W; x++) {
        let r = 0, g = 0, b = 0, n = 0;
        for (let k = -half; k <= length - 1 - half; k++) {
          const xx = Math.min(W - 1, Math.max(0, x + k));
          const o = base + xx * 3;
          r += this.data[o]; g += this.data[o + 1]; b += this.data[o + 2]; n++;
        }
        row[x * 3] = r / n; row[x * 3 + 1] = g / n; row[x * 3 + 2] = b / n;
      }
      this.data.set(row, base);
    }
  }

  /** 3×3 binomial blur, `passes` times: a lens slightly out of focus. */
  defocus(passes: number): void {
    const { width: W, height: H } = this;
    const tmp = new Float32Array(this.data.length);
    const k = [0.25, 0.5, 0.25];
    for (let p = 0; p < passes; p++) {
      for (const horizontal of [true, false]) {
        const src = this.data;
        for (let y = 0; y < H; y++) {
          for (let x = 0; x < W; x++) {
            for (let c = 0; c < 3; c++) {
              let s = 0;
              for (let i = -1; i <= 1; i++) {
                const xx = horizontal ? Math.min(W - 1, Math.max(0, x + i)) : x;
                const yy = horizontal ? y : Math.min(H - 1, Math.max(0, y + i));
                s += src[(yy * W + xx) * 3 + c] * k[i + 1];
              }
              tmp[(y * W + x) * 3 + c] = s;
            }
          }
        }
        this.data.set(tmp);
      }
    }
  }

  /** Sensor noise (σ in 0..255 units) and quantisation to bytes. */
  toBytes(rng: Rng, noiseSigma: number): Uint8Array {
    const out = new Uint8Array(this.data.length);
    for (let i = 0; i < out.length; i++) {
      const v = this.data[i] + (noiseSigma > 0 ? gaussian(rng) * noiseSigma : 0);
      out[i] = v < 0 ? 0 : v > 255 ? 255 : Math.round(v);
    }
    return out;
  }

  private clipRect(x0: number, y0: number, x1: number, y1: number): [number, number, number, number] {
    return [Math.max(0, Math.floor(x0)), Math.max(0, Math.floor(y0)), Math.min(this.width, Math.ceil(x1)), Math.min(this.height, Math.ceil(y1))];
  }
}

// Signed distance functions (Inigo Quilez's formulas), in a local frame.
export function sdCircle(x: number, y: number, r: number): number {
  return Math.hypot(x, y) - r;
}

export function sdRoundBox(x: number, y: number, hw: number, hh: number, r: number): number {
  const qx = Math.abs(x) - hw + r;
  const qy = Math.abs(y) - hh + r;
  return Math.hypot(Math.max(qx, 0), Math.max(qy, 0)) + Math.min(Math.max(qx, qy), 0) - r;
}

export function sdHexagon(x: number, y: number, r: number): number {
  const kx = -0.866025404, ky = 0.5, kz = 0.577350269;
  let px = Math.abs(x), py = Math.abs(y);
  const dot = 2 * Math.min(kx * px + ky * py, 0);
  px -= dot * kx;
  py -= dot * ky;
  px -= Math.min(Math.max(px, -kz * r), kz * r);
  py -= r;
  return Math.hypot(px, py) * Math.sign(py);
}

export function sdSegment(x: number, y: number, ax: number, ay: number, bx: number, by: number): number {
  const pax = x - ax, pay = y - ay, bax = bx - ax, bay = by - ay;
  const h = Math.min(1, Math.max(0, (pax * bax + pay * bay) / (bax * bax + bay * bay)));
  return Math.hypot(pax - bax * h, pay - bay * h);
}

// Colour jitter: brightness, contrast, saturation and a small hue turn, folded into one 3×3
// matrix and offset per sample so each pixel costs nine multiply-adds.
import type { Rng } from '../rng.js';
import { uniform } from '../rng.js';

export interface ColourJitter {
  /** Max relative change of brightness (0.3 = ×0.7..×1.3). */
  brightness: number;
  contrast: number;
  saturation: number;
  /** Max hue turn in degrees. */
  hue: number;
}

export const DEFAULT_COLOUR_JITTER: ColourJitter = { brightness: 0.3, contrast: 0.3, saturation: 0.4, hue: 8 };

export function jitterColour(data: Uint8Array, rng: Rng, j: ColourJitter): void {
  const b = uniform(rng, 1 - j.brightness, 1 + j.brightness);
  const c = uniform(rng, 1 - j.contrast, 1 + j.contrast);
  const s = uniform(rng, 1 - j.saturation, 1 + j.saturation);
  const h = (uniform(rng, -j.hue, j.hue) * Math.PI) / 180;
  // Saturation: lerp from luma grey; hue: rotation about the grey axis (YIQ-style).
  const lr = 0.299, lg = 0.587, lb = 0.114;
  const sat = [
    [lr + (1 - lr) * s, lg - lg * s, lb - lb * s],
    [lr - lr * s, lg + (1 - lg) * s, lb - lb * s],
    [lr - lr * s, lg - lg * s, lb + (1 - lb) * s],
  ];
  const cos = Math.cos(h), sin = Math.sin(h);
  const hueM = [
    [0.299 + 0.701 * cos + 0.168 * sin, 0.587 - 0.587 * cos + 0.330 * sin, 0.114 - 0.114 * cos - 0.497 * sin],
    [0.299 - 0.299 * cos - 0.328 * sin, 0.587 + 0.413 * cos + 0.035 * sin, 0.114 - 0.114 * cos + 0.292 * sin],
    [0.299 - 0.3 * cos + 1.25 * sin, 0.587 - 0.588 * cos - 1.05 * sin, 0.114 + 0.886 * cos - 0.203 * sin],
  ];
  const m = mul3(hueM, sat).map((row) => row.map((v) => v * b * c));
  // Contrast pivots around mid-grey 128 after the brightness gain.
  const offset = 128 * (1 - c);
  for (let i = 0; i < data.length; i += 3) {
    const r = data[i], g = data[i + 1], bl = data[i + 2];
    data[i] = clamp255(m[0][0] * r + m[0][1] * g + m[0][2] * bl + offset);
    data[i + 1] = clamp255(m[1][0] * r + m[1][1] * g + m[1][2] * bl + offset);
    data[i + 2] = clamp255(m[2][0] * r + m[2][1] * g + m[2][2] * bl + offset);
  }
}

function mul3(a: number[][], b: number[][]): number[][] {
  return a.map((row) => [0, 1, 2].map((j) => row[0] * b[0][j] + row[1] * b[1][j] + row[2] * b[2][j]));
}

function clamp255(v: number): number {
  return v < 0 ? 0 : v > 255 ? 255 : v + 0.5;
}

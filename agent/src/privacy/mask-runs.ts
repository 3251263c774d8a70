import type { LetterboxGeometry } from '@kestrel/core/image/letterbox';

/** [x, y] in source-image pixels, as the config writes polygons. */
export type MaskPolygon = readonly (readonly [number, number])[];

/**
 * What to blank in frames of one geometry: byte ranges `[starts[i], ends[i])` of the RGB24 frame,
 * one per run of masked pixels in a row. Blanking a frame is then one `fill` per run.
 */
export interface MaskRuns {
  readonly starts: Uint32Array;
  readonly ends: Uint32Array;
  /** Masked pixels in all (0: the masks lie outside the picture). */
  readonly pixels: number;
}

/**
 * How far, in frame pixels, a source pixel can reach into the frame through ffmpeg's scaling and
 * colour conversion. swscale's bicubic filter reads 2 taps on either side, in source pixels when
 * enlarging and in output pixels when shrinking: 2 × max(1, scale) frame pixels. yuv420p carries
 * colour at half resolution, which spreads it further. A frame pixel within this distance of a
 * mask may carry some of the masked picture, so it is blanked too. Measured with saturated
 * secrets drawn exactly under masks (test/agent/privacy-masks.test.ts, shrunk and enlarged):
 * 2 × scale alone lets traces of 4/255 through at the edge, one pixel more lets none; the second
 * is margin. What a camera's lossy encoder smears across a mask's edge before the frame reaches
 * the agent (faint, up to a macroblock) is beyond any mask applied after decoding.
 */
export function scalerReach(g: LetterboxGeometry): number {
  const scale = Math.max(1, g.scaleX, g.scaleY);
  return Math.ceil(2 * scale) + 2;
}

/**
 * The frame pixels to blank for `polygons` (source pixels) in frames of geometry `g`: every frame
 * pixel the mapped polygon touches, grown by `reach` pixels (a square around each, which covers
 * the scaler's reach in every direction), clipped to the picture (the padding has no picture in
 * it and stays the model's pad). Polygons are filled by the non-zero rule, so a polygon that
 * crosses itself hides all it encloses, never less.
 *
 * Built once per camera geometry (about 10 ms at 416×416); applying it is the cheap part (20 µs).
 */
export function maskRuns(polygons: readonly MaskPolygon[], g: LetterboxGeometry, reach = scalerReach(g)): MaskRuns {
  const W = g.dstWidth;
  const H = g.dstHeight;
  const covered = new Uint8Array(W * H);
  for (const polygon of polygons) {
    const pts = polygon.map(([x, y]) => [g.padX + x * g.scaleX, g.padY + y * g.scaleY] as const);
    fillInterior(covered, W, H, pts);
    traceEdges(covered, W, H, pts);
  }
  const grown = reach > 0 ? dilate(covered, W, H, reach) : covered;
  return toRuns(grown, W, { x0: g.padX, x1: g.padX + g.scaledWidth, y0: g.padY, y1: g.padY + g.scaledHeight });
}

/** Marks pixels whose centre is inside the polygon (non-zero winding), scanline by scanline. */
function fillInterior(covered: Uint8Array, W: number, H: number, pts: readonly (readonly [number, number])[]): void {
  const crossings: { x: number; dir: number }[] = [];
  for (let y = 0; y < H; y++) {
    const cy = y + 0.5;
    crossings.length = 0;
    for (let i = 0, j = pts.length - 1; i < pts.length; j = i++) {
      const [xa, ya] = pts[j];
      const [xb, yb] = pts[i];
      // Half-open in y, so a vertex on the scanline counts once.
      if (ya <= cy && yb > cy) crossings.push({ x: xa + ((cy - ya) * (xb - xa)) / (yb - ya), dir: 1 });
      else if (yb <= cy && ya > cy) crossings.push({ x: xa + ((cy - ya) * (xb - xa)) / (yb - ya), dir: -1 });
    }
    if (crossings.length < 2) continue;
    crossings.sort((a, b) => a.x - b.x);
    let winding = 0;
    for (let k = 0; k < crossings.length - 1; k++) {
      winding += crossings[k].dir;
      if (winding === 0) continue;
      // Pixels whose centre x + 0.5 lies in [from, to).
      const from = Math.max(0, Math.ceil(crossings[k].x - 0.5));
      const to = Math.min(W, Math.ceil(crossings[k + 1].x - 0.5));
      if (to > from) covered.fill(1, y * W + from, y * W + to);
    }
  }
}

/**
 * Marks pixels the polygon's edges pass through: a polygon thinner than a pixel covers no pixel
 * centre, yet its picture still lands in the pixels it crosses.
 */
function traceEdges(covered: Uint8Array, W: number, H: number, pts: readonly (readonly [number, number])[]): void {
  for (let i = 0, j = pts.length - 1; i < pts.length; j = i++) {
    const [xa, ya] = pts[j];
    const [xb, yb] = pts[i];
    // Steps of a quarter pixel: no pixel the segment crosses by more than a corner is skipped,
    // and the dilation that follows covers the corners.
    const steps = Math.max(1, Math.ceil(Math.max(Math.abs(xb - xa), Math.abs(yb - ya)) * 4));
    for (let s = 0; s <= steps; s++) {
      const x = Math.floor(xa + ((xb - xa) * s) / steps);
      const y = Math.floor(ya + ((yb - ya) * s) / steps);
      if (x >= 0 && x < W && y >= 0 && y < H) covered[y * W + x] = 1;
    }
  }
}

/** Grows the marked pixels by `r` in every direction (a (2r+1)² square), rows then columns. */
function dilate(src: Uint8Array, W: number, H: number, r: number): Uint8Array {
  const rows = new Uint8Array(W * H);
  for (let y = 0; y < H; y++) {
    const base = y * W;
    // The last marked x seen, and marks ahead: a pixel is set when a mark lies within r of it.
    let lastMark = -Infinity;
    for (let x = 0; x < W + r; x++) {
      if (x < W && src[base + x]) lastMark = x;
      const target = x - r;
      if (target >= 0 && target < W && x - lastMark <= 2 * r) rows[base + target] = 1;
    }
  }
  const out = new Uint8Array(W * H);
  for (let x = 0; x < W; x++) {
    let lastMark = -Infinity;
    for (let y = 0; y < H + r; y++) {
      if (y < H && rows[y * W + x]) lastMark = y;
      const target = y - r;
      if (target >= 0 && target < H && y - lastMark <= 2 * r) out[target * W + x] = 1;
    }
  }
  return out;
}

function toRuns(covered: Uint8Array, W: number, clip: { x0: number; x1: number; y0: number; y1: number }): MaskRuns {
  const starts: number[] = [];
  const ends: number[] = [];
  let pixels = 0;
  for (let y = clip.y0; y < clip.y1; y++) {
    const base = y * W;
    let x = clip.x0;
    while (x < clip.x1) {
      if (!covered[base + x]) {
        x++;
        continue;
      }
      const from = x;
      while (x < clip.x1 && covered[base + x]) x++;
      starts.push((base + from) * 3);
      ends.push((base + x) * 3);
      pixels += x - from;
    }
  }
  return { starts: Uint32Array.from(starts), ends: Uint32Array.from(ends), pixels };
}

/** Blanks the runs in an RGB24 frame, in place. */
export function blankRuns(data: Uint8Array, runs: MaskRuns, value: number): void {
  const { starts, ends } = runs;
  for (let i = 0; i < starts.length; i++) data.fill(value, starts[i], ends[i]);
}

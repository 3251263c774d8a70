import { unletterboxBox, type Box, type LetterboxGeometry } from '@kestrel/core/image/letterbox';

/** What the detector needs of a frame: RGB24 HWC pixels at the model's input size and where the picture sits in it. */
export interface MotionFrame {
  readonly data: Uint8Array;
  readonly width: number;
  readonly height: number;
  readonly geometry: LetterboxGeometry;
}

export interface MotionSettings {
  /** Least grey-level difference (0-255) from the background for a cell to count as changed. */
  threshold: number;
  /** Least size of a motion area, in cells of the downscaled grey frame (Frigate's `contour_area`). */
  contourArea: number;
  /** Height of the downscaled grey frame the detector works on, in cells. */
  frameHeight: number;
  /** Fraction of the picture that, changed at once, is a light change (lights, IR switch, auto exposure), not motion. */
  lightningThreshold: number;
}

export interface MotionResult {
  /** Areas that moved, in source pixels. */
  readonly boxes: Box[];
  /** Fraction of the picture's cells that differ from the background. */
  readonly changed: number;
  /** The background was taken anew from this frame (first frame, or most of the picture changed). */
  readonly recalibrated: boolean;
}

/**
 * Weight of each new frame in the running-average background. Slow enough that a walker does
 * not become background while crossing (at 5 fps a change fades to a third in ~4 s), fast enough
 * that dusk and clouds drift into it instead of showing as motion. Something that stops moving
 * fades into the background too: that is what lets inference rest on a parked car.
 */
const BACKGROUND_ALPHA = 0.05;

/**
 * Cheap motion detection in the way of Frigate's: the picture (letterbox pads left out) is cut
 * to a grey grid about `frameHeight` cells high, each cell the mean of its block (the mean is the
 * blur that keeps sensor noise from counting), compared with a running-average background;
 * cells beyond `threshold` are dilated by one cell so the parts of one moving thing join, and
 * each joined area of at least `contourArea` cells is a motion box. When more than
 * `lightningThreshold` of the picture changes at once the background is taken from this frame
 * and no box is reported: one recalibration instead of a storm of motion.
 */
export class MotionDetector {
  private background?: Float32Array;
  private grid?: GridShape;
  private grey = new Float32Array(0);
  private changedCells = new Uint8Array(0);
  private dilated = new Uint8Array(0);
  private labels = new Int32Array(0);
  private queue = new Int32Array(0);

  constructor(private readonly settings: MotionSettings) {}

  detect(frame: MotionFrame): MotionResult {
    const grid = gridShape(frame, this.settings.frameHeight);
    if (!this.grid || !sameGrid(this.grid, grid)) this.reshape(grid);
    const { cols, rows } = grid;
    const cells = cols * rows;
    this.toGrey(frame, grid);
    const bg = this.background;
    if (!bg) {
      this.background = Float32Array.from(this.grey);
      return { boxes: [], changed: 0, recalibrated: true };
    }
    const { threshold } = this.settings;
    let changedCount = 0;
    for (let i = 0; i < cells; i++) {
      const diff = Math.abs(this.grey[i]! - bg[i]!);
      const on = diff > threshold ? 1 : 0;
      this.changedCells[i] = on;
      changedCount += on;
    }
    const changed = changedCount / cells;
    if (changed > this.settings.lightningThreshold) {
      bg.set(this.grey);
      return { boxes: [], changed, recalibrated: true };
    }
    for (let i = 0; i < cells; i++) bg[i]! += BACKGROUND_ALPHA * (this.grey[i]! - bg[i]!);
    if (changedCount === 0) return { boxes: [], changed, recalibrated: false };
    this.dilate(cols, rows);
    const boxes = this.areas(cols, rows).map((a) => toSourceBox(a, grid, frame.geometry));
    return { boxes, changed, recalibrated: false };
  }

  /** Forget the background: the next frame is taken as it (a camera that restarted, a switched-on detection). */
  reset(): void {
    this.background = undefined;
  }

  private reshape(grid: GridShape): void {
    const cells = grid.cols * grid.rows;
    this.grid = grid;
    this.background = undefined;
    this.grey = new Float32Array(cells);
    this.changedCells = new Uint8Array(cells);
    this.dilated = new Uint8Array(cells);
    this.labels = new Int32Array(cells);
    this.queue = new Int32Array(cells);
  }

  /** Each cell: the mean grey (BT.601 weights) of its block of the picture. */
  private toGrey(frame: MotionFrame, grid: GridShape): void {
    const { data, width } = frame;
    const { cols, rows, step, x0, y0 } = grid;
    const grey = this.grey;
    const perCell = 1 / (step * step);
    for (let r = 0; r < rows; r++) {
      for (let c = 0; c < cols; c++) {
        let sum = 0;
        for (let dy = 0; dy < step; dy++) {
          let p = ((y0 + r * step + dy) * width + x0 + c * step) * 3;
          for (let dx = 0; dx < step; dx++, p += 3) sum += 0.299 * data[p]! + 0.587 * data[p + 1]! + 0.114 * data[p + 2]!;
        }
        grey[r * cols + c] = sum * perCell;
      }
    }
  }

  /** 3×3 dilation of the changed cells. */
  private dilate(cols: number, rows: number): void {
    const src = this.changedCells;
    const out = this.dilated;
    out.fill(0);
    for (let r = 0; r < rows; r++) {
      for (let c = 0; c < cols; c++) {
        if (!src[r * cols + c]) continue;
        for (let y = Math.max(0, r - 1); y <= Math.min(rows - 1, r + 1); y++) {
          for (let x = Math.max(0, c - 1); x <= Math.min(cols - 1, c + 1); x++) out[y * cols + x] = 1;
        }
      }
    }
  }

  /** The 8-connected areas of dilated cells of at least `contourArea` cells, as cell boxes [c0, r0, c1, r1] (inclusive). */
  private areas(cols: number, rows: number): Array<[number, number, number, number]> {
    const { dilated, labels, queue } = this;
    labels.fill(0);
    const found: Array<[number, number, number, number]> = [];
    let next = 1;
    for (let start = 0; start < cols * rows; start++) {
      if (!dilated[start] || labels[start]) continue;
      const label = next++;
      let head = 0;
      let tail = 0;
      queue[tail++] = start;
      labels[start] = label;
      let c0 = cols, r0 = rows, c1 = -1, r1 = -1, size = 0;
      while (head < tail) {
        const i = queue[head++]!;
        const r = (i / cols) | 0;
        const c = i - r * cols;
        size++;
        if (c < c0) c0 = c;
        if (c > c1) c1 = c;
        if (r < r0) r0 = r;
        if (r > r1) r1 = r;
        for (let y = Math.max(0, r - 1); y <= Math.min(rows - 1, r + 1); y++) {
          for (let x = Math.max(0, c - 1); x <= Math.min(cols - 1, c + 1); x++) {
            const j = y * cols + x;
            if (dilated[j] && !labels[j]) {
              labels[j] = label;
              queue[tail++] = j;
            }
          }
        }
      }
      if (size >= this.settings.contourArea) found.push([c0, r0, c1, r1]);
    }
    return found;
  }
}

/** The grid over the picture part of the frame: `step` input pixels per cell, starting at the picture's corner. */
interface GridShape {
  cols: number;
  rows: number;
  step: number;
  x0: number;
  y0: number;
}

function gridShape(frame: MotionFrame, frameHeight: number): GridShape {
  const g = frame.geometry;
  // The picture inside the letterbox, clipped to the frame (rounding may put it a pixel over).
  const x0 = Math.max(0, Math.round(g.padX));
  const y0 = Math.max(0, Math.round(g.padY));
  const w = Math.max(1, Math.min(frame.width - x0, Math.round(g.scaledWidth)));
  const h = Math.max(1, Math.min(frame.height - y0, Math.round(g.scaledHeight)));
  const step = Math.max(1, Math.floor(h / frameHeight));
  return { cols: Math.max(1, Math.floor(w / step)), rows: Math.max(1, Math.floor(h / step)), step, x0, y0 };
}

function sameGrid(a: GridShape, b: GridShape): boolean {
  return a.cols === b.cols && a.rows === b.rows && a.step === b.step && a.x0 === b.x0 && a.y0 === b.y0;
}

function toSourceBox([c0, r0, c1, r1]: [number, number, number, number], grid: GridShape, g: LetterboxGeometry): Box {
  const input: Box = [grid.x0 + c0 * grid.step, grid.y0 + r0 * grid.step, grid.x0 + (c1 + 1) * grid.step, grid.y0 + (r1 + 1) * grid.step];
  return unletterboxBox(input, g);
}

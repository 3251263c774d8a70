/**
 * Letterbox geometry: how a source image of srcW×srcH is placed inside a model input of
 * dstW×dstH. The same numbers drive ffmpeg's scale+pad filter (agent), sharp's resize (detect,
 * calibration) and the mapping of boxes back to source pixels, so they cannot disagree.
 */
export interface LetterboxGeometry {
  srcWidth: number;
  srcHeight: number;
  dstWidth: number;
  dstHeight: number;
  /** Source pixels → input pixels, per axis (equal when the aspect ratio is kept). */
  scaleX: number;
  scaleY: number;
  /** Size of the scaled image inside the input. */
  scaledWidth: number;
  scaledHeight: number;
  /** Padding on the left and top (the rest goes right and bottom). */
  padX: number;
  padY: number;
}

export function letterboxGeometry(srcWidth: number, srcHeight: number, dstWidth: number, dstHeight: number, keepAspect = true): LetterboxGeometry {
  if (!(srcWidth > 0 && srcHeight > 0 && dstWidth > 0 && dstHeight > 0)) {
    throw new RangeError(`letterbox needs positive sizes, got ${srcWidth}x${srcHeight} -> ${dstWidth}x${dstHeight}`);
  }
  if (!keepAspect) {
    return { srcWidth, srcHeight, dstWidth, dstHeight, scaleX: dstWidth / srcWidth, scaleY: dstHeight / srcHeight, scaledWidth: dstWidth, scaledHeight: dstHeight, padX: 0, padY: 0 };
  }
  const scale = Math.min(dstWidth / srcWidth, dstHeight / srcHeight);
  // Even sizes and offsets: ffmpeg's scaler and yuv420p chroma want them, and sharp agrees.
  const scaledWidth = Math.min(dstWidth, Math.max(2, Math.round((srcWidth * scale) / 2) * 2));
  const scaledHeight = Math.min(dstHeight, Math.max(2, Math.round((srcHeight * scale) / 2) * 2));
  const padX = Math.floor((dstWidth - scaledWidth) / 4) * 2;
  const padY = Math.floor((dstHeight - scaledHeight) / 4) * 2;
  return {
    srcWidth, srcHeight, dstWidth, dstHeight,
    scaleX: scaledWidth / srcWidth,
    scaleY: scaledHeight / srcHeight,
    scaledWidth, scaledHeight, padX, padY,
  };
}

export type Box = [number, number, number, number];

/** A box in model-input pixels → source pixels, clipped to the source image. */
export function unletterboxBox(box: Box, g: LetterboxGeometry): Box {
  const x1 = (box[0] - g.padX) / g.scaleX;
  const y1 = (box[1] - g.padY) / g.scaleY;
  const x2 = (box[2] - g.padX) / g.scaleX;
  const y2 = (box[3] - g.padY) / g.scaleY;
  return [clamp(x1, 0, g.srcWidth), clamp(y1, 0, g.srcHeight), clamp(x2, 0, g.srcWidth), clamp(y2, 0, g.srcHeight)];
}

/** A box in source pixels → model-input pixels (the inverse, for tests and calibration). */
export function letterboxBox(box: Box, g: LetterboxGeometry): Box {
  return [box[0] * g.scaleX + g.padX, box[1] * g.scaleY + g.padY, box[2] * g.scaleX + g.padX, box[3] * g.scaleY + g.padY];
}

function clamp(v: number, lo: number, hi: number): number {
  return v < lo ? lo : v > hi ? hi : v;
}

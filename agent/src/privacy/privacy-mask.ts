import type { LetterboxGeometry } from '@kestrel/core/image/letterbox';
import type { Logger } from '@kestrel/core/util/log';
import type { Frame } from '../source/types.js';
import { blankRuns, maskRuns, type MaskPolygon, type MaskRuns } from './mask-runs.js';

/** Masked pixels are black: what people know a privacy mask to look like, and unlike the grey padding. */
export const MASK_VALUE = 0;

export interface PrivacyMaskOptions {
  masks: readonly { name?: string; polygon: MaskPolygon }[];
  /** Blank before the frame goes to inference (the model never sees the areas), or only after. */
  maskBeforeInference: boolean;
  logger: Logger;
}

/**
 * A camera's privacy masks, blanked in its frames in place. Frames arrive letterboxed at the
 * model's input size, so the masks (source pixels) are mapped through each frame's geometry; the
 * pixels to blank are worked out once per geometry (a camera changing resolution gets new ones)
 * and blanking a frame is a few hundred `fill`s (15–20 µs for a 416×416 frame, measured).
 *
 * Blanking here, on the frame ffmpeg gave, rather than in ffmpeg's filter chain: the chain is
 * written before the source size is known (ffmpeg-filter.ts), a mask image would have to follow
 * resolution changes, and with `maskBeforeInference: false` the model must see the pixels while
 * every kept picture must not, which one ffmpeg output cannot give. The price is the scaler's
 * blur across the mask's edge, which `scalerReach` covers by blanking a few pixels more.
 */
export class PrivacyMask {
  readonly beforeInference: boolean;
  private readonly polygons: MaskPolygon[];
  private readonly log: Logger;
  private cached?: { geometry: LetterboxGeometry; runs: MaskRuns };

  constructor(options: PrivacyMaskOptions) {
    this.polygons = options.masks.map((m) => m.polygon);
    this.beforeInference = options.maskBeforeInference;
    this.log = options.logger;
  }

  /** A mask for the camera's config, or undefined when it has none (nothing to do per frame). */
  static forCamera(privacy: { masks: PrivacyMaskOptions['masks']; maskBeforeInference: boolean }, logger: Logger): PrivacyMask | undefined {
    return privacy.masks.length > 0 ? new PrivacyMask({ ...privacy, logger }) : undefined;
  }

  /** Blanks the masked areas of `frame` in place. */
  apply(frame: Frame): void {
    blankRuns(frame.data, this.runsFor(frame.geometry), MASK_VALUE);
  }

  private runsFor(geometry: LetterboxGeometry): MaskRuns {
    if (this.cached && sameGeometry(this.cached.geometry, geometry)) return this.cached.runs;
    const runs = maskRuns(this.polygons, geometry);
    this.cached = { geometry, runs };
    const size = `${geometry.srcWidth}x${geometry.srcHeight}`;
    // Masks drawn for another resolution than the camera sends hide nothing: say so loudly.
    if (runs.pixels === 0) this.log.warn({ sourceSize: size }, 'privacy masks lie outside the picture: nothing is blanked (are they drawn for another resolution?)');
    else this.log.info({ sourceSize: size, pixels: runs.pixels, beforeInference: this.beforeInference }, 'privacy masks applied');
    return runs;
  }
}

function sameGeometry(a: LetterboxGeometry, b: LetterboxGeometry): boolean {
  return a === b || (a.srcWidth === b.srcWidth && a.srcHeight === b.srcHeight && a.dstWidth === b.dstWidth && a.dstHeight === b.dstHeight && a.padX === b.padX && a.padY === b.padY && a.scaledWidth === b.scaledWidth && a.scaledHeight === b.scaledHeight);
}

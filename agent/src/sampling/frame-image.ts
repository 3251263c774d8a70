import sharp from 'sharp';
import type { LetterboxGeometry } from '@kestrel/core';
import type { PixelRegion } from './dhash.js';

/**
 * The part of a letterboxed frame that shows the camera's picture (the padding cut away).
 *
 * A sample's JPEG is this region at model-input resolution (e.g. 416×234 for a 1280×720 camera
 * and a 416 model), not the camera's full resolution: it is exactly what the model saw, costs one
 * crop of pixels already in memory instead of a second ffmpeg output, and is small enough to keep
 * thousands on a device. Boxes stay in source pixels (the MQTT contract); since the region is the
 * whole source scaled (by scaleX, scaleY), normalised coordinates are the same in both, and the
 * hub's export scales pixel boxes by imageSize / frameSize.
 */
export function pictureRegion(g: LetterboxGeometry): PixelRegion {
  return { x: g.padX, y: g.padY, width: g.scaledWidth, height: g.scaledHeight };
}

/** JPEG of `region` of an RGB24 HWC image. */
export function encodeRegionJpeg(rgb: Uint8Array, width: number, height: number, region: PixelRegion, quality: number): Promise<Buffer> {
  return sharp(rgb, { raw: { width, height, channels: 3 } })
    .extract({ left: region.x, top: region.y, width: region.width, height: region.height })
    .jpeg({ quality, mozjpeg: false })
    .toBuffer();
}

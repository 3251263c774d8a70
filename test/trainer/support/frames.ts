// Unlabelled "camera frames" for distillation tests: crops, flips and zooms of the real test
// photographs (a person, a cat, a cup, a motorcycle), so the NanoDet teacher has real objects
// to find.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { testImage, TEST_IMAGES, type TestImageName } from '../../support/images.js';

export async function makeFrames(dir: string, perPhoto: number, size = 320): Promise<string[]> {
  mkdirSync(dir, { recursive: true });
  const out: string[] = [];
  const names = Object.keys(TEST_IMAGES) as TestImageName[];
  for (const name of names) {
    const path = testImage(name);
    const { width, height } = await sharp(path).metadata();
    for (let k = 0; k < perPhoto; k++) {
      // Deterministic variety: zoom 100%..70% of the photo, shifted, every other one mirrored.
      const zoom = 1 - (0.3 * k) / Math.max(1, perPhoto);
      const w = Math.round(width! * zoom), h = Math.round(height! * zoom);
      const left = Math.round(((width! - w) * ((k * 37) % 100)) / 100), top = Math.round(((height! - h) * ((k * 61) % 100)) / 100);
      const file = join(dir, `${name}_${k}.jpg`);
      let img = sharp(path).removeAlpha().extract({ left, top, width: w, height: h }).resize(size, size, { fit: 'inside' });
      if (k % 2 === 1) img = img.flop();
      await img.jpeg({ quality: 90 }).toFile(file);
      out.push(file);
    }
  }
  return out;
}

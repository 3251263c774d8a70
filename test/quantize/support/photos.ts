// Calibration and held-out images for quantizing the real detector in tests, made from the
// four test photographs: calibration gets crops and flips (varied framing and object sizes, as
// ARCHITECTURE.md advises), the agreement check gets the untouched photographs and their mirrors.
import { mkdtemp, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { testImage, TEST_IMAGES, type TestImageName } from '../../support/images.js';

export interface PhotoSets {
  dir: string;
  calibDir: string;
  heldOut: string[];
}

export async function makePhotoSets(): Promise<PhotoSets> {
  const dir = await mkdtemp(join(tmpdir(), 'kestrel-photos-'));
  const calibDir = join(dir, 'calib');
  const heldDir = join(dir, 'held-out');
  await mkdir(calibDir);
  await mkdir(heldDir);
  const heldOut: string[] = [];
  for (const name of Object.keys(TEST_IMAGES) as TestImageName[]) {
    const src = testImage(name);
    const { width = 0, height = 0 } = await sharp(src).metadata();
    const crop = (l: number, t: number, w: number, h: number) => sharp(src).extract({ left: Math.round(l * width), top: Math.round(t * height), width: Math.round(w * width), height: Math.round(h * height) });
    await crop(0, 0, 0.7, 0.8).jpeg({ quality: 90 }).toFile(join(calibDir, `${name}-left.jpg`));
    await crop(0.3, 0.2, 0.7, 0.8).jpeg({ quality: 90 }).toFile(join(calibDir, `${name}-right.jpg`));
    await crop(0.2, 0.15, 0.6, 0.7).flop().jpeg({ quality: 90 }).toFile(join(calibDir, `${name}-zoom-mirror.jpg`));
    await sharp(src).resize({ width: Math.round(width / 2) }).extend({ top: 40, bottom: 40, left: 80, right: 80, background: '#808080' }).png().toFile(join(calibDir, `${name}-small.png`));
    const mirror = join(heldDir, `${name}-mirror.jpg`);
    await sharp(src).flop().jpeg({ quality: 92 }).toFile(mirror);
    heldOut.push(src, mirror);
  }
  return { dir, calibDir, heldOut };
}

// Real JPEGs and sample payloads for hub tests: photographs from test/support/images.ts, resized
// and letterbox-free like the agent's samples.
import { randomBytes } from 'node:crypto';
import sharp from 'sharp';
import type { Sample } from '@kestrel/core';
import { testImage, type TestImageName } from '../../support/images.js';

/** A JPEG of a test photo at `width` pixels wide (aspect kept). */
export async function photoJpeg(name: TestImageName, width = 320): Promise<{ jpeg: Buffer; width: number; height: number }> {
  const { data, info } = await sharp(testImage(name)).resize({ width }).jpeg({ quality: 85 }).toBuffer({ resolveWithObject: true });
  return { jpeg: data, width: info.width, height: info.height };
}

/** A sample payload as the agent sends it. Boxes in source pixels of a frame `frameSize` big. */
export function samplePayload(deviceId: string, image: { jpeg: Buffer; width: number; height: number }, overrides: Partial<Sample> = {}): Sample {
  return {
    schema: 1,
    id: `door-${Date.now()}-${randomBytes(4).toString('hex')}`,
    deviceId,
    camera: 'door',
    capturedAt: Date.now(),
    reasons: ['uncertainty'],
    modelVersion: '1.0.0',
    frameSize: [image.width * 2, image.height * 2],
    imageSize: [image.width, image.height],
    detections: [{ label: 'person', score: 0.45, box: [100, 60, 300, 400] }],
    image: { contentType: 'image/jpeg', data: image.jpeg.toString('base64') },
    ...overrides,
  };
}

import sharp from 'sharp';
import type { Detection } from '../detect/types.js';

/** A stable, distinct colour per class id (golden-angle hues), so a class looks the same everywhere. */
export function classColour(classId: number): string {
  const hue = (classId * 137.508) % 360;
  return `hsl(${hue.toFixed(1)}, 85%, 50%)`;
}

function escapeXml(s: string): string {
  return s.replace(/[<>&'"]/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', "'": '&apos;', '"': '&quot;' })[c]!);
}

/** An SVG layer with a box and a "label score" tag per detection, sized to the image. */
export function detectionsSvg(width: number, height: number, detections: readonly Detection[]): string {
  const stroke = Math.max(2, Math.round(Math.min(width, height) / 250));
  const font = Math.max(12, Math.round(Math.min(width, height) / 40));
  const parts = detections.map((d) => {
    const [x1, y1, x2, y2] = d.box;
    const colour = classColour(d.classId);
    const text = `${escapeXml(d.label)} ${d.score.toFixed(2)}`;
    const tagW = Math.round(text.length * font * 0.62 + font * 0.6);
    const tagH = Math.round(font * 1.35);
    const tagY = y1 - tagH >= 0 ? y1 - tagH : y1;
    return (
      `<rect x="${x1.toFixed(1)}" y="${y1.toFixed(1)}" width="${(x2 - x1).toFixed(1)}" height="${(y2 - y1).toFixed(1)}" fill="none" stroke="${colour}" stroke-width="${stroke}"/>` +
      `<rect x="${x1.toFixed(1)}" y="${tagY.toFixed(1)}" width="${tagW}" height="${tagH}" fill="${colour}"/>` +
      `<text x="${(x1 + font * 0.3).toFixed(1)}" y="${(tagY + font * 1.05).toFixed(1)}" font-family="DejaVu Sans, sans-serif" font-size="${font}" fill="white">${text}</text>`
    );
  });
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}">${parts.join('')}</svg>`;
}

/** Draws detections on an image and encodes it as JPEG (for people to check at a glance). */
export async function annotateToJpeg(source: string | Buffer | { data: Buffer; width: number; height: number }, detections: readonly Detection[], quality = 88): Promise<Buffer> {
  const image = Buffer.isBuffer(source) || typeof source === 'string' ? sharp(source).rotate() : sharp(source.data, { raw: { width: source.width, height: source.height, channels: 3 } });
  const { width, height } = Buffer.isBuffer(source) || typeof source === 'string' ? await sizeAfterRotate(source) : source;
  return image
    .composite([{ input: Buffer.from(detectionsSvg(width, height, detections)), top: 0, left: 0 }])
    .removeAlpha()
    .jpeg({ quality })
    .toBuffer();
}

async function sizeAfterRotate(source: string | Buffer): Promise<{ width: number; height: number }> {
  const m = await sharp(source).metadata();
  const swap = (m.orientation ?? 1) >= 5;
  return swap ? { width: m.height!, height: m.width! } : { width: m.width!, height: m.height! };
}

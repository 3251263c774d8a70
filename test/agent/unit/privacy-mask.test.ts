// Privacy-mask rasterising: which frame pixels a source-pixel polygon blanks through the letterbox
// geometry, pixel by pixel, and the per-camera mask that applies it (geometry changes, warnings).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import pino from 'pino';
import { letterboxGeometry, type LetterboxGeometry, type Logger } from '@kestrel/core';
import { blankRuns, maskRuns, scalerReach, type MaskPolygon } from '@kestrel/agent/privacy/mask-runs';
import { PrivacyMask } from '@kestrel/agent/privacy/privacy-mask';
import { pointInPolygon, type Point } from '@kestrel/agent/track/zones';
import type { Frame } from '@kestrel/agent/source/types';

function bitmap(polygons: MaskPolygon[], g: LetterboxGeometry, reach?: number): Uint8Array {
  const data = new Uint8Array(g.dstWidth * g.dstHeight * 3).fill(200);
  blankRuns(data, maskRuns(polygons, g, reach), 0);
  const out = new Uint8Array(g.dstWidth * g.dstHeight);
  for (let i = 0; i < out.length; i++) out[i] = data[i * 3] === 0 ? 1 : 0;
  return out;
}

/** Frame pixel centre → source pixels. */
const toSource = (g: LetterboxGeometry, x: number, y: number): Point => [(x + 0.5 - g.padX) / g.scaleX, (y + 0.5 - g.padY) / g.scaleY];

function inPicture(g: LetterboxGeometry, x: number, y: number): boolean {
  return x >= g.padX && x < g.padX + g.scaledWidth && y >= g.padY && y < g.padY + g.scaledHeight;
}

/** Distance (frame pixels) from a point to a polygon's outline (frame coordinates). */
function distanceToOutline(p: Point, pts: Point[]): number {
  let best = Infinity;
  for (let i = 0, j = pts.length - 1; i < pts.length; j = i++) {
    const [ax, ay] = pts[j];
    const [bx, by] = pts[i];
    const len2 = (bx - ax) ** 2 + (by - ay) ** 2;
    const t = len2 === 0 ? 0 : Math.max(0, Math.min(1, ((p[0] - ax) * (bx - ax) + (p[1] - ay) * (by - ay)) / len2));
    best = Math.min(best, Math.hypot(p[0] - (ax + t * (bx - ax)), p[1] - (ay + t * (by - ay))));
  }
  return best;
}

const CASES: [string, LetterboxGeometry, MaskPolygon][] = [
  ['a quadrilateral on a 1920×1080 camera', letterboxGeometry(1920, 1080, 416, 416), [[1500, 400], [1800, 380], [1850, 900], [1400, 950]]],
  ['a triangle on an enlarged 320×240 camera', letterboxGeometry(320, 240, 416, 416), [[10, 10], [300, 40], [120, 230]]],
  ['a portrait camera, mask past the edge', letterboxGeometry(720, 1280, 416, 320), [[-50, -50], [400, -50], [400, 300], [-50, 300]]],
  ['a stretched frame', letterboxGeometry(640, 360, 320, 256, false), [[100, 100], [500, 120], [300, 340]]],
];

for (const [what, g, polygon] of CASES) {
  test(`mask pixels, ${what}: every pixel inside or within the scaler's reach is blanked, none beyond the scaler's reach, never the padding`, () => {
    const reach = scalerReach(g);
    const got = bitmap([polygon], g);
    const W = g.dstWidth;
    const H = g.dstHeight;
    const inside = new Uint8Array(W * H);
    for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) if (inPicture(g, x, y) && pointInPolygon(toSource(g, x, y), polygon as Point[])) inside[y * W + x] = 1;
    const frameOutline = polygon.map(([px, py]) => [g.padX + px * g.scaleX, g.padY + py * g.scaleY] as Point);
    // A touched pixel's centre is within √2/2 of the outline; the square of `reach` around it adds reach·√2.
    const farthest = (reach + 1) * Math.SQRT2;
    let missed = 0;
    let overreach = 0;
    let unblurred = 0;
    let padding = 0;
    let someInside = 0;
    for (let y = 0; y < H; y++) {
      for (let x = 0; x < W; x++) {
        const i = y * W + x;
        if (!inPicture(g, x, y)) {
          if (got[i]) padding++;
          continue;
        }
        if (inside[i]) {
          someInside++;
          if (!got[i]) missed++;
        } else {
          const d = distanceToOutline([x + 0.5, y + 0.5], frameOutline);
          if (got[i] && d > farthest) overreach++;
          // Where ffmpeg's scaler may have blurred masked picture in: blanked as well.
          if (!got[i] && d <= reach - 0.5) unblurred++;
        }
      }
    }
    assert.ok(someInside > 100, 'the case covers a real area');
    assert.equal(missed, 0, `${missed} pixels inside the polygon were left`);
    assert.equal(unblurred, 0, `${unblurred} pixels within the scaler's reach (${reach}) of the polygon were left`);
    assert.equal(padding, 0, 'the padding is never blanked');
    assert.equal(overreach, 0, `${overreach} pixels blanked farther than the reach (${reach}) from the polygon`);
  });
}

test('the reach follows the scale: 2 taps each side when shrinking, 2 source pixels when enlarging, plus chroma', () => {
  assert.equal(scalerReach(letterboxGeometry(1920, 1080, 416, 416)), 4);
  assert.equal(scalerReach(letterboxGeometry(104, 104, 416, 416)), 10);
});

test('a polygon thinner than a pixel still blanks the pixels it crosses', () => {
  const g = letterboxGeometry(1920, 1080, 416, 416);
  // A 1-source-pixel sliver: 0.22 frame pixels wide, no pixel centre inside.
  const got = bitmap([[[1000, 100], [1001, 100], [1001, 900], [1000, 900]]], g, 0);
  const x = Math.floor(g.padX + 1000 * g.scaleX);
  const y = Math.floor(g.padY + 500 * g.scaleY);
  assert.equal(got[y * g.dstWidth + x], 1);
});

test('a polygon that winds twice (a pentagram) hides its middle too (non-zero rule, not even-odd)', () => {
  const g = letterboxGeometry(400, 400, 400, 400);
  const star: MaskPolygon = [0, 2, 4, 1, 3].map((k) => {
    const a = -Math.PI / 2 + (k * 2 * Math.PI) / 5;
    return [200 + 150 * Math.cos(a), 200 + 150 * Math.sin(a)] as const;
  });
  const got = bitmap([star], g, 0);
  assert.equal(got[200 * 400 + 200], 1, 'the centre of the star');
  assert.equal(got[5 * 400 + 5], 0, 'a corner well outside');
});

test('a mask outside the picture blanks nothing and says so; a new resolution gets its own pixels', () => {
  const lines: { level: string; msg: string }[] = [];
  const logger: Logger = pino({ level: 'info' }, { write: (s: string) => lines.push(JSON.parse(s)) });
  const mask = new PrivacyMask({ masks: [{ polygon: [[1000, 1000], [1200, 1000], [1200, 1200]] }], maskBeforeInference: true, logger });
  const frame = (src: [number, number]): Frame => ({ camera: 'c', seq: 0, data: new Uint8Array(416 * 416 * 3).fill(50), width: 416, height: 416, geometry: letterboxGeometry(src[0], src[1], 416, 416), capturedAt: 0 });
  const small = frame([640, 480]);
  mask.apply(small);
  assert.ok(small.data.every((v) => v === 50), 'nothing blanked');
  const big = frame([1920, 1080]);
  mask.apply(big);
  mask.apply(frame([1920, 1080]));
  assert.ok(big.data.some((v) => v === 0), 'blanked at the resolution the mask was drawn for');
  const said = lines.filter((l) => /privacy masks/.test(l.msg));
  assert.equal(said.length, 2, 'once per geometry');
  assert.match(said[0].msg, /outside the picture: nothing is blanked/);
  assert.equal(PrivacyMask.forCamera({ masks: [], maskBeforeInference: true }, logger), undefined, 'no masks, no per-frame work');
});

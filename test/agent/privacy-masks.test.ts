// Privacy masks on real video: clips through the real camera path (CameraRuntime, its ffmpeg file
// source, the frame cutter), checked pixel by pixel through the letterbox geometry. A secret drawn
// exactly under a mask leaves no trace in any frame; pixels away from the masks are exactly
// what the camera gives without masks; with maskBeforeInference false the model gets the
// picture and everything after it gets the masked one.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { createLogger, type InputSpec, type LetterboxGeometry } from '@kestrel/core';
import { cameraSchema } from '@kestrel/config/schema/camera';
import { CameraRuntime, type CameraSink } from '@kestrel/agent/pipeline/camera-runtime';
import { scalerReach, type MaskPolygon } from '@kestrel/agent/privacy/mask-runs';
import { pointInPolygon, type Point } from '@kestrel/agent/track/zones';
import type { Frame } from '@kestrel/agent/source/types';
import { waitForStatus } from './support/sources.js';

let dir: string;
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'kestrel-masks-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

const INPUT: InputSpec = { width: 416, height: 416, layout: 'NCHW', colour: 'RGB', mean: [0, 0, 0], std: [1, 1, 1], letterbox: true, padValue: 114 };
const quiet = createLogger('test', { level: 'silent' });
const sink: CameraSink = { event: () => {}, detections: () => {}, wantsDetections: false };

/**
 * H.264 in yuv420p, as cameras send it. `lossless` (-qp 0) keeps the encoder's own ringing out:
 * a lossy encode smears a sharp edge up to a macroblock (here up to 13 source pixels, at most
 * 14/255) into its surroundings before any mask can act, which is the camera's doing, not the
 * agent's; what is measured with a secret is what the agent's pipeline lets through.
 */
function encode(name: string, inputArgs: string[], seconds: number, lossless = false): string {
  const path = join(dir, name);
  const quality = lossless ? ['-qp', '0'] : [];
  execFileSync('ffmpeg', ['-hide_banner', '-loglevel', 'error', ...inputArgs, '-t', String(seconds), '-r', '10', '-c:v', 'libx264', '-preset', 'ultrafast', ...quality, '-pix_fmt', 'yuv420p', '-y', path]);
  return path;
}

/** A still picture: black, with the polygons filled in `fill` colours (sharp renders the SVG). */
async function secretClip(name: string, size: [number, number], polygons: { polygon: MaskPolygon; fill: string }[]): Promise<string> {
  const shapes = polygons.map((p) => `<polygon points="${p.polygon.map(([x, y]) => `${x},${y}`).join(' ')}" fill="${p.fill}"/>`).join('');
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${size[0]}" height="${size[1]}"><rect width="100%" height="100%" fill="black"/>${shapes}</svg>`;
  const png = join(dir, `${name}.png`);
  await sharp(Buffer.from(svg)).png().toFile(png);
  return encode(`${name}.mp4`, ['-loop', '1', '-i', png], 1, true);
}

interface Captured {
  /** The frame as it went to inference (a copy taken when it was scheduled). */
  scheduled: Uint8Array;
  /** The frame after its detections were handled: what the tracker, snapshots and the sampler see. */
  kept: Uint8Array;
  geometry: LetterboxGeometry;
}

/** Every frame of a clip through a camera with these privacy settings, as the agent runs it. */
async function runCamera(clip: string, privacy: Record<string, unknown>): Promise<Captured[]> {
  const config = cameraSchema({ baseDir: dir, cwd: dir, deviceId: 'test', stateDir: dir }).parse({
    name: 'masked',
    source: { type: 'file', path: clip, loop: false, realtime: false },
    fps: 10,
    privacy,
  });
  const frames: { frame: Frame; scheduled: Uint8Array }[] = [];
  const runtime = new CameraRuntime(config, {
    input: INPUT,
    deviceId: 'test',
    modelVersion: () => '1',
    stateDir: mkdtempSync(join(tmpdir(), 'kestrel-masks-state-')),
    logger: quiet,
    sink,
    onFrame: ({ frame }) => frames.push({ frame, scheduled: frame.data.slice() }),
    onStateChange: () => {},
  });
  await runtime.start();
  await waitForStatus(runtime.source, (s) => s.state === 'stopped', 20_000, 'the end of the clip');
  await runtime.stop();
  // The inference loop's order: the camera's pipeline gets the detections, then the sampler the frame.
  return frames.map(({ frame, scheduled }) => {
    runtime.handleDetections(frame, [], 1);
    return { scheduled, kept: frame.data, geometry: frame.geometry };
  });
}

const inPicture = (g: LetterboxGeometry, x: number, y: number) => x >= g.padX && x < g.padX + g.scaledWidth && y >= g.padY && y < g.padY + g.scaledHeight;
const toSource = (g: LetterboxGeometry, x: number, y: number): Point => [(x + 0.5 - g.padX) / g.scaleX, (y + 0.5 - g.padY) / g.scaleY];

/** Distance (frame pixels) from a frame pixel's centre to the nearest mask outline. */
function distanceToMasks(g: LetterboxGeometry, x: number, y: number, polygons: MaskPolygon[]): number {
  let best = Infinity;
  for (const polygon of polygons) {
    const pts = polygon.map(([px, py]) => [g.padX + px * g.scaleX, g.padY + py * g.scaleY]);
    for (let i = 0, j = pts.length - 1; i < pts.length; j = i++) {
      const [ax, ay] = pts[j];
      const [bx, by] = pts[i];
      const len2 = (bx - ax) ** 2 + (by - ay) ** 2;
      const t = Math.max(0, Math.min(1, ((x + 0.5 - ax) * (bx - ax) + (y + 0.5 - ay) * (by - ay)) / len2));
      best = Math.min(best, Math.hypot(x + 0.5 - (ax + t * (bx - ax)), y + 0.5 - (ay + t * (by - ay))));
    }
  }
  return best;
}

const insideAny = (g: LetterboxGeometry, x: number, y: number, polygons: MaskPolygon[]) => polygons.some((p) => pointInPolygon(toSource(g, x, y), p as Point[]));

const SECRET_CASES: { what: string; size: [number, number]; masks: MaskPolygon[] }[] = [
  {
    what: 'a 1280×720 camera (shrunk 0.325×)',
    size: [1280, 720],
    masks: [
      [[100, 80], [520, 60], [600, 400], [160, 460]],
      [[900, 300], [1240, 520], [860, 700]],
    ],
  },
  { what: 'a 320×240 camera (enlarged 1.3×)', size: [320, 240], masks: [[[40, 30], [200, 50], [120, 200]]] },
];

for (const { what, size, masks } of SECRET_CASES) {
  test(`nothing of a secret drawn exactly under the masks survives in any frame: ${what}`, async () => {
    // Saturated colours, so that chroma (half resolution in yuv420p) would show if it leaked.
    const fills = ['#ff2020', '#20ff20', '#ffffff'];
    const clip = await secretClip(`secret-${size.join('x')}`, size, masks.map((polygon, i) => ({ polygon, fill: fills[i % fills.length] })));

    const open = await runCamera(clip, {});
    assert.ok(open.length >= 8, `frames: ${open.length}`);
    const brightest = open[2].kept.reduce((m, v) => Math.max(m, v), 0);
    assert.ok(brightest > 200, 'without masks the secret is in the frame');

    const masked = await runCamera(clip, { masks: masks.map((polygon) => ({ polygon })) });
    assert.equal(masked.length, open.length);
    for (const [n, f] of masked.entries()) {
      const g = f.geometry;
      let worst = 0;
      for (let y = 0; y < g.dstHeight; y++) {
        for (let x = 0; x < g.dstWidth; x++) {
          if (!inPicture(g, x, y)) continue;
          const i = (y * g.dstWidth + x) * 3;
          worst = Math.max(worst, f.kept[i], f.kept[i + 1], f.kept[i + 2]);
        }
      }
      // Black in yuv420p H.264 decodes to 0 in RGB (2 allows for rounding): anything above would be the secret.
      assert.ok(worst <= 2, `frame ${n}: a pixel of ${worst} survives (reach ${scalerReach(g)})`);
      assert.deepEqual(f.kept, f.scheduled, 'masked before inference');
    }
  });
}

test('pixel by pixel on moving video: black inside every mask, exactly the unmasked picture away from them, padding untouched', async () => {
  const clip = encode('testsrc.mp4', ['-f', 'lavfi', '-i', 'testsrc2=s=1280x720:r=10'], 1.5);
  const masks: MaskPolygon[] = [
    [[0, 0], [1280, 0], [1280, 90], [0, 160]], // a street along the top
    [[700, 300], [980, 260], [1040, 640], [760, 600], [820, 450]], // a neighbour's window, concave
    [[-40, 500], [200, 520], [120, 800]], // running past the picture's edge
  ];
  const open = await runCamera(clip, {});
  const masked = await runCamera(clip, { masks: masks.map((polygon, i) => ({ name: `m${i}`, polygon })) });
  assert.equal(masked.length, open.length);
  assert.ok(masked.length >= 12, `frames: ${masked.length}`);
  let inside = 0;
  let away = 0;
  for (const [n, f] of masked.entries()) {
    const g = f.geometry;
    const reach = scalerReach(g);
    const ref = open[n].kept;
    const wrong: string[] = [];
    for (let y = 0; y < g.dstHeight; y++) {
      for (let x = 0; x < g.dstWidth; x++) {
        const i = (y * g.dstWidth + x) * 3;
        const px = [f.kept[i], f.kept[i + 1], f.kept[i + 2]];
        if (!inPicture(g, x, y)) {
          if (px.some((v) => v !== 114)) wrong.push(`padding ${x},${y}`);
        } else if (insideAny(g, x, y, masks)) {
          inside++;
          if (px.some((v) => v !== 0)) wrong.push(`inside ${x},${y}: ${px}`);
        } else if (distanceToMasks(g, x, y, masks) > (reach + 1) * Math.SQRT2) {
          away++;
          if (px[0] !== ref[i] || px[1] !== ref[i + 1] || px[2] !== ref[i + 2]) wrong.push(`away ${x},${y}: ${px} vs ${ref.subarray(i, i + 3)}`);
        }
      }
    }
    assert.deepEqual(wrong.slice(0, 5), [], `frame ${n}: ${wrong.length} pixels wrong`);
  }
  assert.ok(inside > masked.length * 15_000 && away > masked.length * 50_000, `checked ${inside} inside and ${away} away`);
});

test('maskBeforeInference false: inference gets the whole picture, what is kept after it is masked exactly as before', async () => {
  const clip = encode('testsrc-late.mp4', ['-f', 'lavfi', '-i', 'testsrc2=s=640x480:r=10'], 1);
  const masks = [{ polygon: [[100, 100], [400, 80], [300, 400]] }];
  const open = await runCamera(clip, {});
  const early = await runCamera(clip, { masks });
  const late = await runCamera(clip, { masks, maskBeforeInference: false });
  assert.equal(late.length, open.length);
  for (const [n, f] of late.entries()) {
    assert.deepEqual(f.scheduled, open[n].scheduled, `frame ${n}: the model sees the unmasked picture`);
    assert.deepEqual(f.kept, early[n].kept, `frame ${n}: after inference it is masked as with maskBeforeInference true`);
    assert.notDeepEqual(f.kept, open[n].kept);
  }
});

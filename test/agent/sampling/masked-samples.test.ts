// Privacy masks reach what the sampler keeps and uploads: the agent (its own process) on a file
// camera whose picture has a red secret exactly under a mask, the bundled model, the sampler
// keeping every frame, a real hub. Every stored sample and every sample the hub stored shows
// black where the mask is and the picture elsewhere, whether the mask applies before inference
// (the default) or only after it.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { letterboxGeometry, type LetterboxGeometry } from '@kestrel/core';
import { scalerReach } from '@kestrel/agent/privacy/mask-runs';
import { pointInPolygon, type Point } from '@kestrel/agent/track/zones';
import { startBroker, type BrokerHandle } from '../../support/broker.js';
import { uniquePrefix } from '../../support/ports.js';
import { startHub, type HubProcess } from '../../deploy/support/hub-process.js';
import { cleanUp, startAgentProcess, stopAgent } from '../support/agent-process.js';

const dir = mkdtempSync(join(tmpdir(), 'kestrel-masked-samples-'));
let broker: BrokerHandle | undefined;
let hub: HubProcess | undefined;
after(async () => {
  await cleanUp();
  await hub?.stop();
  await broker?.stop();
  rmSync(dir, { recursive: true, force: true });
});

const SOURCE: [number, number] = [1280, 720];
const MASK: Point[] = [[200, 100], [700, 150], [640, 600], [150, 520]];
const GEOMETRY = letterboxGeometry(SOURCE[0], SOURCE[1], 416, 416);

/** White, with the secret (red) filling exactly the mask's polygon; H.264 as a camera sends it. */
async function secretClip(): Promise<string> {
  const png = join(dir, 'secret.png');
  const points = MASK.map(([x, y]) => `${x},${y}`).join(' ');
  await sharp(Buffer.from(`<svg xmlns="http://www.w3.org/2000/svg" width="${SOURCE[0]}" height="${SOURCE[1]}"><rect width="100%" height="100%" fill="white"/><polygon points="${points}" fill="red"/></svg>`))
    .png()
    .toFile(png);
  const clip = join(dir, 'secret.mp4');
  execFileSync('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-loop', '1', '-i', png, '-t', '2', '-r', '10', '-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p', '-y', clip]);
  return clip;
}

function distanceToOutline(p: Point, pts: Point[]): number {
  let best = Infinity;
  for (let i = 0, j = pts.length - 1; i < pts.length; j = i++) {
    const [ax, ay] = pts[j];
    const [bx, by] = pts[i];
    const t = Math.max(0, Math.min(1, ((p[0] - ax) * (bx - ax) + (p[1] - ay) * (by - ay)) / ((bx - ax) ** 2 + (by - ay) ** 2)));
    best = Math.min(best, Math.hypot(p[0] - (ax + t * (bx - ax)), p[1] - (ay + t * (by - ay))));
  }
  return best;
}

/**
 * A sample's JPEG, pixel by pixel: it is the picture region of the frame (frame-image.ts), so its
 * pixel (x, y) is frame pixel (x + padX, y + padY). JPEG smears across an 8×8 block, so pixels
 * that close to the mask's edge are not judged; inside it is black, away from it white.
 */
async function checkSample(jpeg: Buffer, what: string, g: LetterboxGeometry = GEOMETRY): Promise<void> {
  const { data, info } = await sharp(jpeg).raw().toBuffer({ resolveWithObject: true });
  assert.deepEqual([info.width, info.height], [g.scaledWidth, g.scaledHeight], `${what}: the picture region at model resolution`);
  const outline = MASK.map(([x, y]) => [g.padX + x * g.scaleX, g.padY + y * g.scaleY] as Point);
  const margin = 8;
  const away = scalerReach(g) + margin;
  let inside = 0;
  let outside = 0;
  const wrong: string[] = [];
  for (let y = 0; y < info.height; y++) {
    for (let x = 0; x < info.width; x++) {
      const centre: Point = [x + g.padX + 0.5, y + g.padY + 0.5];
      const d = distanceToOutline(centre, outline);
      const i = (y * info.width + x) * info.channels;
      const px = [data[i], data[i + 1], data[i + 2]];
      const isInside = pointInPolygon([(centre[0] - g.padX) / g.scaleX, (centre[1] - g.padY) / g.scaleY], MASK);
      if (isInside && d > margin) {
        inside++;
        if (px.some((v) => v > 12)) wrong.push(`inside ${x},${y}: ${px}`);
      } else if (!isInside && d > away) {
        outside++;
        if (px.some((v) => v < 235)) wrong.push(`outside ${x},${y}: ${px}`);
      }
    }
  }
  assert.deepEqual(wrong.slice(0, 5), [], `${what}: ${wrong.length} pixels wrong`);
  assert.ok(inside > 10_000 && outside > 40_000, `${what}: judged ${inside} pixels inside, ${outside} outside`);
}

type Transport = 'none' | 'http';

/** The agent with the masked camera until three samples are stored (none) or on the hub (http); returns their JPEGs. */
async function samplesOf(name: string, clip: string, maskBeforeInference: boolean, transport: Transport): Promise<Buffer[]> {
  const stateDir = join(dir, name);
  const configPath = join(dir, `${name}.yaml`);
  const upload = transport === 'http' ? `{ transport: http, url: "${hub!.url}", token: "${await hub!.token(name)}", batchSize: 1, idleSeconds: 0.2, backoff: { minMs: 200, maxMs: 1000 } }` : '{ transport: none }';
  writeFileSync(
    configPath,
    [
      `device: { id: ${name} }`,
      `mqtt: { url: "${broker!.url}", prefix: ${uniquePrefix('masks')} }`,
      `stateDir: "${stateDir}"`,
      'http: { enabled: false }',
      'model: { threads: 1 }',
      'cameras:',
      '  - name: yard',
      `    source: { type: file, path: "${clip}", loop: true }`,
      '    fps: 4',
      '    privacy:',
      `      masks: [{ name: secret, polygon: ${JSON.stringify(MASK)} }]`,
      `      maskBeforeInference: ${maskBeforeInference}`,
      'sampling:',
      '  enabled: true',
      '  dedup: { enabled: false }',
      '  strategies:',
      '    uncertainty: { enabled: false }',
      // Every frame, three at most: the first three processed frames.
      '    random: { enabled: true, probability: 1, quota: { perMinute: 3 } }',
      `  upload: ${upload}`,
      '',
    ].join('\n'),
  );
  const agent = startAgentProcess(configPath);
  const images = join(stateDir, 'samples', 'images');
  const stored = () => (existsSync(images) ? readdirSync(images).filter((f) => f.endsWith('.jpg')) : []);
  const { records, blobs } = hub!.stores();
  const enough = async () => (transport === 'http' ? (await records.countSamples({ deviceId: name })) >= 3 : stored().length >= 3);
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline && !(await enough())) await new Promise((r) => setTimeout(r, 200));
  await stopAgent(agent);
  assert.ok(await enough(), `${name}: three samples ${transport === 'http' ? 'on the hub' : 'stored'}; agent log:\n${agent.stderr().slice(-3000)}`);
  if (transport === 'none') return stored().map((f) => readFileSync(join(images, f)));
  const { samples } = await records.listSamples({ deviceId: name });
  return Promise.all(samples.map(async (sample) => (await blobs.get(sample.blobKey))!));
}

test('samples stored and uploaded show the mask black and the rest of the picture, masked before or after inference', { timeout: 240_000 }, async () => {
  [broker, hub] = await Promise.all([startBroker(), startHub()]);
  const clip = await secretClip();
  for (const maskBeforeInference of [true, false]) {
    for (const transport of ['none', 'http'] as const) {
      const name = `${maskBeforeInference ? 'early' : 'late'}-${transport}`;
      const jpegs = await samplesOf(name, clip, maskBeforeInference, transport);
      assert.ok(jpegs.length >= 3 && jpegs.every(Boolean), `${name}: ${jpegs.length} samples`);
      for (const [i, jpeg] of jpegs.entries()) await checkSample(jpeg, `${name} ${transport === 'http' ? 'uploaded' : 'stored'} #${i}`);
    }
  }
});

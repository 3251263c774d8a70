// Frames and configs for sampler tests: real photographs letterboxed exactly as the agent's
// ffmpeg path does (core's letterboxImage), and sampling configs parsed by the real schema.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger, letterboxImage, type Detection } from '@kestrel/core';
import { samplingSchema, type SamplingConfig } from '@kestrel/config/schema/sampling';
import type { Frame } from '@kestrel/agent/source/types';
import { testImage, type TestImageName } from '../../../support/images.js';

export const quietLogger = createLogger('test', { level: 'silent' });

const INPUT = { width: 416, height: 416, layout: 'NCHW' as const, colour: 'RGB' as const, mean: [0, 0, 0] as [number, number, number], std: [1, 1, 1] as [number, number, number], letterbox: true, padValue: 114 };

const cache = new Map<string, { rgb: Buffer; geometry: Frame['geometry'] }>();

/** A 416×416 letterboxed frame of a test photo; `brighten` adds to every pixel (a "same scene, other moment"). */
export async function photoFrame(name: TestImageName, options: { camera?: string; capturedAt?: number; brighten?: number } = {}): Promise<Frame> {
  let base = cache.get(name);
  if (!base) {
    base = await letterboxImage(testImage(name), INPUT);
    cache.set(name, base);
  }
  const data = new Uint8Array(base.rgb.length);
  const add = options.brighten ?? 0;
  for (let i = 0; i < data.length; i++) data[i] = Math.min(255, Math.max(0, base.rgb[i] + add));
  return { camera: options.camera ?? 'door', seq: 0, data, width: INPUT.width, height: INPUT.height, geometry: base.geometry, capturedAt: options.capturedAt ?? Date.now() };
}

/** A frame of random noise (every call a different picture: never a near-duplicate). */
export function noiseFrame(options: { camera?: string; capturedAt?: number; seed?: number } = {}): Frame {
  const data = new Uint8Array(416 * 416 * 3);
  let s = (options.seed ?? Math.floor(Math.random() * 2 ** 31)) >>> 0 || 1;
  // Blocky noise (16 px cells) so the 9×8 hash sees structure, not an average grey.
  const cells = new Uint8Array(26 * 26);
  for (let i = 0; i < cells.length; i++) {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    cells[i] = s >>> 24;
  }
  for (let y = 0; y < 416; y++) for (let x = 0; x < 416; x++) data.fill(cells[(y >> 4) * 26 + (x >> 4)], (y * 416 + x) * 3, (y * 416 + x) * 3 + 3);
  const geometry = { srcWidth: 1280, srcHeight: 1280, dstWidth: 416, dstHeight: 416, scaleX: 416 / 1280, scaleY: 416 / 1280, scaledWidth: 416, scaledHeight: 416, padX: 0, padY: 0 };
  return { camera: options.camera ?? 'door', seq: 0, data, width: 416, height: 416, geometry, capturedAt: options.capturedAt ?? Date.now() };
}

/** A sampling config as the loader makes it (defaults filled in), its buffer in a fresh folder. */
export function samplingConfig(input: Record<string, unknown> = {}): SamplingConfig & { path: string } {
  const dir = mkdtempSync(join(tmpdir(), 'kestrel-samples-'));
  const ctx = { baseDir: dir, cwd: dir, deviceId: 'test', stateDir: dir };
  const parsed = samplingSchema(ctx).parse({ enabled: true, path: join(dir, 'buffer'), ...input });
  return { ...parsed, path: parsed.path! };
}

export function det(label: string, score: number, box: [number, number, number, number] = [100, 100, 200, 300]): Detection {
  return { classId: 0, label, score, box };
}

/** A clock tests move by hand. */
export function manualClock(start = Date.UTC(2025, 0, 1)): { now: () => number; advance: (ms: number) => void; set: (ms: number) => void } {
  let t = start;
  return { now: () => t, advance: (ms) => (t += ms), set: (ms) => (t = ms) };
}

/** A deterministic random() (an LCG), so "random" sampling is testable. */
export function seededRandom(seed = 42): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

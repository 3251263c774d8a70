import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Box } from '@kestrel/core/image/letterbox';
import type { FfmpegInput } from './ffmpeg-args.js';
import { sourceOptionError } from './options-error.js';
import { sceneGraph, sceneInputArgs, scenePlacement, type SceneOptions } from './scene.js';

/** The photograph the demo camera shows: NASA, public domain (see agent/assets/demo/README.md). */
export const DEMO_PHOTO = fileURLToPath(new URL('../../assets/demo/astronaut.png', import.meta.url));

/**
 * The demo camera: a 1280×720, 15 fps room that a person (the astronaut photo, 512×512 drawn at
 * 360×360) walks across in 12 s, then 3 s of empty room, forever. The empty stretch lets every
 * pass show a whole event life: `new`, `update`s while walking, `end` after leaving.
 */
export const DEMO_SCENE: SceneOptions = {
  width: 1280,
  height: 720,
  fps: 15,
  photo: DEMO_PHOTO,
  photoWidth: 360,
  photoHeight: 360,
  top: 250,
  floorTop: 480,
  motion: { kind: 'cross', crossSeconds: 12, gapSeconds: 3 },
};

export interface DemoInputOptions {
  /** Override parts of the demo scene (size, fps, motion, another photo). */
  scene?: Partial<SceneOptions>;
}

export function demoInput(options: DemoInputOptions = {}): FfmpegInput {
  const scene = { ...DEMO_SCENE, ...options.scene };
  if (!existsSync(scene.photo)) throw sourceOptionError('source.scene.photo', `demo photo not found at ${scene.photo}`);
  const args = sceneInputArgs(scene);
  return {
    type: 'demo',
    description: `demo scene ${scene.width}x${scene.height}@${scene.fps}`,
    finite: false,
    args: () => args,
    sceneGraph: sceneGraph(scene),
  };
}

/** Where the demo's person is at `timeMs` (epoch ms), in source pixels; null while out of view. */
export function demoPlacement(timeMs: number, scene: SceneOptions = DEMO_SCENE): Box | null {
  return scenePlacement(scene, timeMs);
}

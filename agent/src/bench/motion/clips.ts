import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { KestrelError } from '@kestrel/core/util/errors';
import { DEMO_PHOTO } from '../../source/demo.js';

const execFileAsync = promisify(execFile);

/**
 * The clips motion gating is measured on, made by ffmpeg from the demo's room and photograph
 * (a person) with sensor-like temporal noise, encoded with H.264 as a camera sends them:
 *
 * - `static`: a fixed camera on a still room where a person stands the whole time. Nothing
 *   moves, so gating should leave only the first sightings and the rechecks.
 * - `entering`: an empty room; a person walks in and across and leaves; the room is empty again;
 *   a second walks in and stops in the middle, standing there until the end. Every `new` must
 *   come as early with gating as without.
 */
export type ClipKind = 'static' | 'entering';

export const CLIP_SIZE = { width: 1280, height: 720 } as const;
const PHOTO = { width: 360, height: 360, top: 250 };
/** Where a standing person stands (left edge, source pixels). */
const STAND_X = 460;

export interface Clip {
  kind: ClipKind;
  path: string;
  fps: number;
  seconds: number;
}

/** The photo's left edge over time (ffmpeg expression in `t`); off the picture on the right when away. */
function xExpression(kind: ClipKind): string {
  const W = CLIP_SIZE.width;
  const pw = PHOTO.width;
  if (kind === 'static') return String(STAND_X);
  // away 0-3 s, crosses 3-11 s, away 11-15 s, walks in 15-19 s, then stands.
  return `if(lt(t,3),${W},if(lt(t,11),-${pw}+${W + pw}*(t-3)/8,if(lt(t,15),${W},if(lt(t,19),-${pw}+${STAND_X + pw}*(t-15)/4,${STAND_X}))))`;
}

export async function makeClip(kind: ClipKind, dir: string, options: { fps: number; seconds: number; ffmpegPath: string }): Promise<Clip> {
  const { fps, seconds, ffmpegPath } = options;
  if (kind === 'entering' && seconds < 25) throw new RangeError(`the entering clip needs at least 25 s (the second person stands from 19 s), got ${seconds}`);
  const { width: W, height: H } = CLIP_SIZE;
  const floorTop = 480;
  const room = [
    `color=c=0x5a6470:s=${W}x${H}:r=${fps}:d=${seconds}`,
    `drawbox=x=0:y=${floorTop}:w=${W}:h=${H - floorTop}:color=0x6e5a46:t=fill`,
    `drawbox=x=0:y=${floorTop - 6}:w=${W}:h=6:color=0x2e2a26:t=fill`,
    `drawbox=x=${Math.round(W * 0.62)}:y=${Math.round(H * 0.12)}:w=${Math.round(W * 0.22)}:h=${Math.round(H * 0.3)}:color=0xb9c8d6:t=fill`,
  ].join(',');
  const graph = [
    `[1:v]scale=${PHOTO.width}:${PHOTO.height},format=yuv420p[photo]`,
    `[0:v][photo]overlay=x='${xExpression(kind)}':y=${PHOTO.top}:eval=frame:eof_action=repeat:format=yuv420,noise=alls=6:allf=t,format=yuv420p[v]`,
  ].join(';');
  const path = join(dir, `${kind}.mp4`);
  try {
    await execFileAsync(ffmpegPath, [
      '-hide_banner', '-loglevel', 'error', '-y',
      '-f', 'lavfi', '-i', room, '-i', DEMO_PHOTO,
      '-filter_complex', graph, '-map', '[v]', '-t', String(seconds),
      '-c:v', 'libx264', '-preset', 'veryfast', '-crf', '20', '-g', String(fps * 2), path,
    ]);
  } catch (err) {
    throw new KestrelError('E_FFMPEG', `could not make the ${kind} clip: ${((err as { stderr?: string }).stderr || (err as Error).message).trim()}`);
  }
  return { kind, path, fps, seconds };
}

import type { Box } from '@kestrel/core/image/letterbox';

/**
 * A synthetic camera view made by ffmpeg: a photograph moving across a plain room (wall and
 * floor). It drives the demo camera and the test RTSP publisher, and because the photo's
 * position is a function of the wall clock, `scenePlacement()` says where it is at any instant:
 * the scene keeps its motion across ffmpeg restarts, and a test can check boxes against it.
 *
 * The clock: the background is stamped with RTCTIME (µs since the epoch) when ffmpeg makes each
 * frame, and the `realtime` filter makes frames when they are due, so a frame cut from the pipe at time T shows
 * the photo where `scenePlacement(T − latency)` says, latency being the few milliseconds (raw
 * output) or ~0.1–0.3 s (through an encoder and RTSP) between making and receiving it.
 */
export interface SceneOptions {
  /** Picture size; even numbers. */
  width: number;
  height: number;
  fps: number;
  /** The photograph (any format ffmpeg reads). */
  photo: string;
  /** Size the photo is drawn at; even numbers. */
  photoWidth: number;
  photoHeight: number;
  /** Top edge of the photo; even. */
  top: number;
  motion: SceneMotion;
  /** Colours as 0xRRGGBB. */
  wallColour?: number;
  floorColour?: number;
  /** Where the floor starts; default two thirds down. */
  floorTop?: number;
}

export type SceneMotion =
  /** Enters on the left, leaves on the right in `crossSeconds`, then is away for `gapSeconds`. */
  | { kind: 'cross'; crossSeconds: number; gapSeconds: number }
  /** Walks between the left and right edges, always fully visible, `legSeconds` each way. */
  | { kind: 'bounce'; legSeconds: number };

/** ffmpeg input options: the background (paced to real time, stamped with the wall clock) and the photo (one frame). */
export function sceneInputArgs(scene: SceneOptions): string[] {
  validateScene(scene);
  const { width: W, height: H, fps } = scene;
  const floorTop = scene.floorTop ?? even((H * 2) / 3);
  const wall = colour(scene.wallColour ?? 0x5a6470);
  const floor = colour(scene.floorColour ?? 0x6e5a46);
  const background = [
    `color=c=${wall}:s=${W}x${H}:r=${fps}`,
    // Paced here, before the clock stamp: `-re` cannot pace a stream whose timestamps are the
    // wall clock (it would see µs-apart frames and let them all through).
    'realtime',
    `drawbox=x=0:y=${floorTop}:w=${W}:h=${H - floorTop}:color=${floor}:t=fill`,
    `drawbox=x=0:y=${floorTop - 6}:w=${W}:h=6:color=0x2e2a26:t=fill`,
    // A window on the wall, so the room is not a flat colour.
    `drawbox=x=${even(W * 0.62)}:y=${even(H * 0.12)}:w=${even(W * 0.22)}:h=${even(H * 0.3)}:color=0xb9c8d6:t=fill`,
  ].join(',');
  return ['-f', 'lavfi', '-i', background, '-i', scene.photo];
}

/**
 * filter_complex graph over inputs 0 (background) and 1 (photo), ending in `[scene]`. The photo
 * is a single frame held by `eof_action=repeat`, so it is decoded and scaled once, not per frame.
 * The output's timestamps restart at 0 with a steady frame rate.
 */
export function sceneGraph(scene: SceneOptions): string {
  const { photoWidth: pw, photoHeight: ph, top, fps } = scene;
  return [
    `[1:v]scale=${pw}:${ph},format=yuv420p[photo]`,
    // The wall-clock stamp goes here, not into the lavfi input: µs-since-epoch timestamps there
    // make ffmpeg's stream probe read ~20 frames (1.3 s) to guess a frame rate, then burst them.
    `[0:v]settb=AVTB,setpts=RTCTIME[room]`,
    `[room][photo]overlay=x='${xExpression(scene)}':y=${top}:eval=frame:eof_action=repeat:format=yuv420,setpts=N/(${fps}*TB)[scene]`,
  ].join(';');
}

/** The photo's box in scene pixels at `timeMs` (epoch ms), clipped to the picture; null when out of view. */
export function scenePlacement(scene: SceneOptions, timeMs: number): Box | null {
  const { width: W, height: H, photoWidth: pw, photoHeight: ph, top } = scene;
  // overlay truncates the position and aligns it to the chroma grid (even) for yuv420.
  const x = Math.trunc(xPosition(scene, timeMs / 1000)) & ~1;
  const x1 = Math.max(0, x);
  const x2 = Math.min(W, x + pw);
  const y1 = Math.max(0, top);
  const y2 = Math.min(H, top + ph);
  if (x2 - x1 <= 0 || y2 - y1 <= 0) return null;
  return [x1, y1, x2, y2];
}

/** The same formula as xExpression(), in JS (floor-based mod like ffmpeg's). */
function xPosition(scene: SceneOptions, t: number): number {
  const { width: W, photoWidth: pw, motion } = scene;
  if (motion.kind === 'cross') {
    const period = motion.crossSeconds + motion.gapSeconds;
    const s = mod(t, period);
    return s < motion.crossSeconds ? -pw + ((W + pw) * s) / motion.crossSeconds : W;
  }
  const leg = motion.legSeconds;
  return (W - pw) * (1 - Math.abs(mod(t, 2 * leg) - leg) / leg);
}

function xExpression(scene: SceneOptions): string {
  const { width: W, photoWidth: pw, motion } = scene;
  if (motion.kind === 'cross') {
    const period = motion.crossSeconds + motion.gapSeconds;
    return `if(lt(mod(t,${period}),${motion.crossSeconds}),-${pw}+(${W + pw})*mod(t,${period})/${motion.crossSeconds},${W})`;
  }
  const leg = motion.legSeconds;
  return `(${W - pw})*(1-abs(mod(t,${2 * leg})-${leg})/${leg})`;
}

function mod(a: number, b: number): number {
  return a - b * Math.floor(a / b);
}

function even(v: number): number {
  return Math.round(v / 2) * 2;
}

function colour(rgb: number): string {
  return `0x${rgb.toString(16).padStart(6, '0')}`;
}

function validateScene(scene: SceneOptions): void {
  const evens: Array<[string, number]> = [['width', scene.width], ['height', scene.height], ['photoWidth', scene.photoWidth], ['photoHeight', scene.photoHeight], ['top', scene.top]];
  for (const [name, v] of evens) {
    if (!(Number.isInteger(v) && v >= 0 && v % 2 === 0)) throw new RangeError(`scene ${name} must be an even whole number, got ${v}`);
  }
  if (!(scene.fps > 0)) throw new RangeError(`scene fps must be > 0, got ${scene.fps}`);
  const m = scene.motion;
  if (m.kind === 'cross' ? !(m.crossSeconds > 0 && m.gapSeconds >= 0) : !(m.legSeconds > 0)) throw new RangeError(`scene motion has bad durations: ${JSON.stringify(m)}`);
}

import { DEFAULT_PAD_VALUE } from '@kestrel/core/model/metadata';
import { PAD_NAME, SCALE_NAME } from './stream-info.js';
import type { FrameOutputOptions } from './types.js';

/**
 * The ffmpeg filter chain that turns decoded video into model-input frames: fps cap, scale,
 * RGB24, pad. It is written without knowing the source's resolution: the scale and pad sizes are
 * ffmpeg expressions of the input size (`iw`, `ih`) that repeat `letterboxGeometry()` from
 * @kestrel/core step by step (same operations in the same order, C `round` and JS `Math.round`
 * agree on positive numbers). So one ffmpeg run both reports the source size (the named scaler's
 * log line, see stream-info.ts) and letterboxes exactly as the box mapping assumes, without a
 * separate probe: probing first would open every RTSP camera twice on each (re)start, doubling
 * the time to the first frame after an outage, and the size could change between the probe and
 * the open (or later: the expressions are evaluated again when a camera changes resolution).
 * The source checks ffmpeg's reported scale and pad against `letterboxGeometry()` at run time,
 * and tests compare the padding ffmpeg produced with it for odd sizes.
 */
export function frameFilter(output: FrameOutputOptions): string {
  const { width: W, height: H } = output;
  const pad = padColour(output.padValue ?? DEFAULT_PAD_VALUE);
  const steps: string[] = [];
  if (output.fps !== undefined) steps.push(fpsCapFilter(output.fps));
  if (output.keepAspect === false) {
    steps.push(`${SCALE_NAME}=w=${W}:h=${H}:flags=bicubic`, 'format=rgb24');
  } else {
    const s = `min(${W}/iw,${H}/ih)`;
    steps.push(
      `${SCALE_NAME}=w='min(${W},max(2,round(iw*${s}/2)*2))':h='min(${H},max(2,round(ih*${s}/2)*2))':flags=bicubic`,
      // Pad in RGB, after the conversion, so the padding is exactly the configured grey level
      // (padding in YUV and converting afterwards shifts it by a level or two).
      'format=rgb24',
      `${PAD_NAME}=w=${W}:h=${H}:x='floor((ow-iw)/4)*2':y='floor((oh-ih)/4)*2':color=${pad}`,
    );
  }
  return steps.join(',');
}

/**
 * A frame-rate cap that never invents frames: it keeps the first frame of each 1/fps time slot
 * (the slot of t is round(t × fps)). ffmpeg's `fps` filter would duplicate frames whenever the
 * camera delivers fewer than `fps`, and after a network hiccup it fills the gap with copies —
 * every copy would be inferred again for nothing. A timestamp that jumps backwards (a camera
 * that resets its clock) is let through so the cap cannot block a stream.
 */
export function fpsCapFilter(fps: number): string {
  const slot = (v: string) => `floor(${v}*${fps}+0.5)`;
  return `select='gt(isnan(prev_selected_t)+lt(t,prev_selected_t)+gt(${slot('t')},${slot('prev_selected_t')}),0)'`;
}

function padColour(value: number): string {
  const hex = value.toString(16).padStart(2, '0');
  return `0x${hex}${hex}${hex}`;
}

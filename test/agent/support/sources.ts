// Helpers for tests of camera sources: waiting for states and frames, checking frame content.
import { letterboxBox, type Box } from '@kestrel/core/image/letterbox';
import type { Frame, FrameSource, SourceStatus } from '@kestrel/agent/source/types';

/**
 * Resolves with the first status that satisfies `ok`: the current one, one reported in a state
 * event (so short-lived states are not missed), or one polled (counters change without events).
 */
export function waitForStatus(source: FrameSource, ok: (s: SourceStatus) => boolean, timeoutMs: number, what = 'state'): Promise<SourceStatus> {
  const now = source.status();
  if (ok(now)) return Promise.resolve(now);
  return new Promise((resolve, reject) => {
    const done = () => {
      clearTimeout(timer);
      clearInterval(poll);
      source.off('state', onState);
    };
    const timer = setTimeout(() => {
      done();
      reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}; status: ${JSON.stringify(source.status())}`));
    }, timeoutMs);
    const check = (s: SourceStatus) => {
      if (!ok(s)) return;
      done();
      resolve(s);
    };
    const onState = (s: SourceStatus) => check(s);
    const poll = setInterval(() => check(source.status()), 50);
    source.on('state', onState);
  });
}

export function nextFrame(source: FrameSource, timeoutMs: number): Promise<Frame> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      source.off('frame', onFrame);
      reject(new Error(`no frame within ${timeoutMs} ms; status: ${JSON.stringify(source.status())}`));
    }, timeoutMs);
    const onFrame = (f: Frame) => {
      clearTimeout(timer);
      source.off('frame', onFrame);
      resolve(f);
    };
    source.on('frame', onFrame);
  });
}

/** Every frame a source gives from now on. */
export function collectFrames(source: FrameSource): Frame[] {
  const frames: Frame[] = [];
  source.on('frame', (f) => frames.push(f));
  return frames;
}

export function pixel(frame: Frame, x: number, y: number): [number, number, number] {
  const i = (Math.round(y) * frame.width + Math.round(x)) * 3;
  return [frame.data[i], frame.data[i + 1], frame.data[i + 2]];
}

/** True when no process with this id exists any more. */
export function processGone(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return false;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ESRCH';
  }
}

export interface PlacementCheck {
  /** Fraction of sampled pixels inside the (shrunk) box that differ from the room's background. */
  insideDiffers: number;
  /** Fraction of sampled pixels in bands left and right of the box that differ from it. */
  outsideDiffers: number;
  samples: number;
}

/**
 * Compares a frame with where a scene says the photo is. The room behind is flat along each row
 * (wall or floor), so a pixel's background is the same row at a reference column away from the
 * photo and from the window. `marginSrc` (source pixels) absorbs the motion between the photo's
 * placement time and the frame.
 */
export function checkPlacement(frame: Frame, box: Box, marginSrc: number, avoidColumnsSrc: Array<[number, number]> = []): PlacementCheck {
  const g = frame.geometry;
  const inner = letterboxBox([box[0] + marginSrc, box[1] + 4, box[2] - marginSrc, box[3] - 4], g);
  const outerLeft = letterboxBox([box[0] - marginSrc - 60, box[1], box[0] - marginSrc, box[3]], g);
  const outerRight = letterboxBox([box[2] + marginSrc, box[1], box[2] + marginSrc + 60, box[3]], g);
  const blocked = (xSrc: number) => xSrc < 4 || xSrc > g.srcWidth - 4 || avoidColumnsSrc.some(([a, b]) => xSrc >= a - 4 && xSrc <= b + 4) || (xSrc >= box[0] - marginSrc - 80 && xSrc <= box[2] + marginSrc + 80);
  const refCandidates = [box[0] - marginSrc - 120, box[2] + marginSrc + 120, 8, g.srcWidth - 8, g.srcWidth / 2].filter((x) => !blocked(x));
  if (refCandidates.length === 0) throw new Error('no background column to compare with');
  const refX = refCandidates[0] * g.scaleX + g.padX;
  const differs = (x: number, y: number) => {
    const p = pixel(frame, x, y);
    const r = pixel(frame, refX, y);
    return Math.abs(p[0] - r[0]) + Math.abs(p[1] - r[1]) + Math.abs(p[2] - r[2]) > 30;
  };
  let inside = 0;
  let insideN = 0;
  for (let y = inner[1]; y < inner[3]; y += 3) {
    for (let x = inner[0]; x < inner[2]; x += 3) {
      insideN++;
      if (differs(x, y)) inside++;
    }
  }
  let outside = 0;
  let outsideN = 0;
  for (const band of [outerLeft, outerRight]) {
    for (let y = band[1]; y < band[3]; y += 3) {
      for (let x = Math.max(band[0], g.padX); x < Math.min(band[2], g.padX + g.scaledWidth - 1); x += 3) {
        const xSrc = (x - g.padX) / g.scaleX;
        if (avoidColumnsSrc.some(([a, b]) => xSrc >= a - 4 && xSrc <= b + 4)) continue;
        outsideN++;
        if (differs(x, y)) outside++;
      }
    }
  }
  return { insideDiffers: insideN ? inside / insideN : 0, outsideDiffers: outsideN ? outside / outsideN : 0, samples: insideN };
}

import type { FfmpegInput } from './ffmpeg-args.js';
import { sourceOptionError } from './options-error.js';

export interface FileInputOptions {
  /** A video file ffmpeg can read. */
  path: string;
  /** Start again at the end, forever. Default false: the source stops (`ended`) at the end. */
  loop?: boolean;
  /** Read at the video's own frame rate, like a camera. Default true; false reads as fast as possible. */
  realtime?: boolean;
  extraInputArgs?: string[];
}

export function fileInput(options: FileInputOptions): FfmpegInput {
  const { path, loop = false, realtime = true, extraInputArgs = [] } = options;
  if (typeof path !== 'string' || path.trim() === '') throw sourceOptionError('source.path', `expected the path of a video file, got ${JSON.stringify(path)}`);
  return {
    kind: 'file',
    description: path,
    finite: !loop,
    args: () => [
      // Played like a camera, decoded like one: without low_delay the H.264 decoder works on
      // several frames at once (frame threads) and, at every loop point, drains the frames it
      // holds in one burst; the agent then sees two frames 1–3 ms apart and the second waits a
      // whole inference (measured: a 6-s clip at 20 fps gave a 1–3 ms gap at each loop, none
      // with low_delay). A file read flat out keeps frame threads: there throughput is the point.
      ...(realtime ? ['-re', '-flags', 'low_delay'] : []),
      ...(loop ? ['-stream_loop', '-1'] : []),
      ...extraInputArgs,
      '-i', path,
    ],
  };
}

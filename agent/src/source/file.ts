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
      ...(realtime ? ['-re'] : []),
      ...(loop ? ['-stream_loop', '-1'] : []),
      ...extraInputArgs,
      '-i', path,
    ],
  };
}

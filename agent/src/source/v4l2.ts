import type { FfmpegInput } from './ffmpeg-args.js';
import { sourceOptionError } from './options-error.js';

export interface V4l2InputOptions {
  /** The device, e.g. `/dev/video0`. */
  device: string;
  /** Capture size asked of the camera, e.g. `{ width: 1280, height: 720 }`; default: the driver's. */
  size?: { width: number; height: number };
  /** The camera's pixel format (`mjpeg`, `yuyv422`, `h264`, ...); default: the driver's. */
  inputFormat?: string;
  /** Capture frame rate asked of the camera. */
  framerate?: number;
  extraInputArgs?: string[];
}

export function v4l2Input(options: V4l2InputOptions): FfmpegInput {
  const { device, size, inputFormat, framerate, extraInputArgs = [] } = options;
  if (typeof device !== 'string' || !device.startsWith('/')) throw sourceOptionError('source.device', `expected a device path such as /dev/video0, got ${JSON.stringify(device)}`);
  if (size && !(Number.isInteger(size.width) && size.width > 0 && Number.isInteger(size.height) && size.height > 0)) {
    throw sourceOptionError('source.size', `expected whole positive width and height, got ${JSON.stringify(size)}`);
  }
  if (inputFormat !== undefined && !/^[a-z0-9_]+$/i.test(inputFormat)) throw sourceOptionError('source.inputFormat', `expected a pixel format name such as mjpeg, got ${JSON.stringify(inputFormat)}`);
  if (framerate !== undefined && !(framerate > 0)) throw sourceOptionError('source.framerate', `must be > 0, got ${framerate}`);
  return {
    kind: 'v4l2',
    description: device,
    finite: false,
    args: () => [
      '-f', 'v4l2',
      ...(inputFormat ? ['-input_format', inputFormat] : []),
      ...(size ? ['-video_size', `${size.width}x${size.height}`] : []),
      ...(framerate ? ['-framerate', String(framerate)] : []),
      ...extraInputArgs,
      '-i', device,
    ],
  };
}

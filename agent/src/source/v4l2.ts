import type { FfmpegInput } from './ffmpeg-args.js';

export interface V4l2InputOptions {
  /** The device, e.g. `/dev/video0`. */
  device: string;
  /** Capture size asked of the camera (both or neither, as the config says); default: the driver's. */
  width?: number;
  height?: number;
  /** The camera's pixel format (`mjpeg`, `yuyv422`, `h264`, ...); default: the driver's. */
  inputFormat?: string;
  /** Capture frame rate asked of the camera. */
  framerate?: number;
  extraInputArgs?: string[];
}

export function v4l2Input(options: V4l2InputOptions): FfmpegInput {
  const { device, width, height, inputFormat, framerate, extraInputArgs = [] } = options;
  return {
    type: 'v4l2',
    description: device,
    finite: false,
    args: () => [
      '-f', 'v4l2',
      ...(inputFormat ? ['-input_format', inputFormat] : []),
      ...(width && height ? ['-video_size', `${width}x${height}`] : []),
      ...(framerate ? ['-framerate', String(framerate)] : []),
      ...extraInputArgs,
      '-i', device,
    ],
  };
}

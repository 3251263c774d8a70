// Camera sources: ffmpeg per camera → exact RGB frames at the model's input size, self-healing.
export * from './types.js';
export * from './frame-cutter.js';
export * from './ffmpeg-filter.js';
export * from './ffmpeg-args.js';
export * from './ffmpeg-binary.js';
export * from './stream-info.js';
export * from './backoff.js';
export * from './ffmpeg-source.js';
export * from './rtsp.js';
export * from './file.js';
export * from './v4l2.js';
export * from './scene.js';
export * from './demo.js';
export * from './create.js';
export * from './frame-reader.js';

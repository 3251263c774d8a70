import { basename } from 'node:path';
import { performance } from 'node:perf_hooks';
import { annotateToJpeg, redactUrl, rgbToTensor, unletterboxRgb, type DetectOptions, type Detector } from '@kestrel/core';
import { toReport, type FrameReport, type ImageReport, type VideoReport } from './report.js';
import type { PredictOutputs } from './outputs.js';
import { sourceName, type PredictSource } from './sources.js';

export interface FrameLimits {
  /** Every n-th decoded frame goes to the model (`--vid-stride`). */
  stride: number;
  /** Per video or stream: frames the model sees at most. */
  maxFrames?: number;
  /** Per video or stream: milliseconds of reading at most. */
  durationMs?: number;
  rtspTransport: 'tcp' | 'udp';
}

/** One image file: the detector reads and letterboxes it itself (sharp), as `detect` always did. */
export async function predictImage(detector: Detector, path: string, options: DetectOptions, outputs: PredictOutputs): Promise<ImageReport> {
  const result = await detector.detect(path, options);
  const report: ImageReport = {
    image: path,
    width: result.width,
    height: result.height,
    detections: result.detections.map(toReport),
    timings: roundTimings(result.timings),
  };
  const annotated = await outputs.write(outputs.stemFor(path), result.width, result.height, result.detections, () => annotateToJpeg(path, result.detections));
  if (annotated) report.annotated = annotated;
  return report;
}

/**
 * A video file or a stream, decoded by the agent's ffmpeg reader at the model's input size (the
 * frames a camera running this model would give), every `stride`-th frame detected. Annotated
 * frames are that picture scaled back to the source size, named `<stem>_<frame>.jpg` like
 * Ultralytics' per-frame labels. A file is read as fast as the model goes; a stream in real time.
 */
export async function predictVideo(
  detector: Detector,
  source: Exclude<PredictSource, { kind: 'image' }>,
  options: DetectOptions,
  limits: FrameLimits,
  outputs: PredictOutputs,
  interrupt: AbortSignal,
  onFrame?: (source: string, width: number, height: number, frame: FrameReport) => void,
): Promise<VideoReport> {
  // Loaded only for videos: a run on images never starts the agent's modules.
  const { readFrames, fileInput, rtspInput } = await import('@kestrel/agent/source/index');
  const name = sourceName(source);
  const input =
    source.kind === 'video'
      ? fileInput({ path: source.path, realtime: false })
      : /^rtsps?:\/\//i.test(source.url)
        ? rtspInput({ url: source.url, transport: limits.rtspTransport })
        : { ...fileInput({ path: source.url, realtime: false }), description: redactUrl(source.url), finite: false };
  const spec = detector.meta.input;
  const stop = new AbortController();
  let stoppedBy: VideoReport['stoppedBy'] = 'end';
  const onInterrupt = () => {
    stoppedBy = 'interrupt';
    stop.abort();
  };
  interrupt.addEventListener('abort', onInterrupt);
  // The duration counts from the first frame: connecting to a camera (up to a keyframe) is not
  // part of what the user asked to see.
  let timer: NodeJS.Timeout | undefined;
  const startClock = () => {
    if (timer !== undefined || limits.durationMs === undefined) return;
    timer = setTimeout(() => {
      stoppedBy = 'duration';
      stop.abort();
    }, limits.durationMs);
  };
  const stem = outputs.stemFor(name);
  const report: VideoReport = { video: name, kind: source.kind, framesRead: 0, frames: [], stoppedBy };
  try {
    const frames = readFrames({ input, output: { width: spec.width, height: spec.height, keepAspect: spec.letterbox, padValue: spec.padValue }, signal: stop.signal });
    for await (const frame of frames) {
      startClock();
      report.framesRead++;
      report.width = frame.geometry.srcWidth;
      report.height = frame.geometry.srcHeight;
      if (frame.index % limits.stride !== 0) continue;
      const t0 = performance.now();
      const tensor = rgbToTensor(frame.data, spec);
      const preprocessMs = performance.now() - t0;
      const { detections, inferenceMs, decodeMs } = await detector.detectTensor(tensor, frame.geometry, options);
      const f: FrameReport = { frame: frame.index, detections: detections.map(toReport), timings: roundTimings({ preprocessMs, inferenceMs, decodeMs }) };
      const { srcWidth, srcHeight } = frame.geometry;
      const annotated = await outputs.write(`${stem}_${frame.index}`, srcWidth, srcHeight, detections, async () => annotateToJpeg(await unletterboxRgb(frame.data, frame.geometry), detections));
      if (annotated) f.annotated = annotated;
      report.frames.push(f);
      onFrame?.(source.kind === 'stream' ? name : basename(source.path), srcWidth, srcHeight, f);
      if (limits.maxFrames !== undefined && report.frames.length >= limits.maxFrames) {
        stoppedBy = 'max-frames';
        break;
      }
    }
  } finally {
    clearTimeout(timer);
    interrupt.removeEventListener('abort', onInterrupt);
  }
  report.stoppedBy = stoppedBy;
  return report;
}

function roundTimings(t: ImageReport['timings']): ImageReport['timings'] {
  return { preprocessMs: +t.preprocessMs.toFixed(2), inferenceMs: +t.inferenceMs.toFixed(2), decodeMs: +t.decodeMs.toFixed(2) };
}

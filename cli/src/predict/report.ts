// What `kestrel detect` reports per input: printed with --json and written to predictions.json.
import { roundBox, type Detection } from '@kestrel/core';

export interface DetectionReport {
  label: string;
  classId: number;
  score: number;
  box: [number, number, number, number];
}

export interface ImageReport {
  image: string;
  width: number;
  height: number;
  annotated?: string;
  detections: DetectionReport[];
  timings: { preprocessMs: number; inferenceMs: number; decodeMs: number };
}

export interface FrameReport {
  /** Index of the frame among those decoded, from 0 (the number in its file names). */
  frame: number;
  annotated?: string;
  detections: DetectionReport[];
  timings: { preprocessMs: number; inferenceMs: number; decodeMs: number };
}

export interface VideoReport {
  video: string;
  kind: 'video' | 'stream';
  width?: number;
  height?: number;
  /** Frames decoded, and the ones the model saw (every --vid-stride-th, up to the limits). */
  framesRead: number;
  frames: FrameReport[];
  /** Why reading stopped: the input ended, a limit was reached, or Ctrl-C. */
  stoppedBy: 'end' | 'max-frames' | 'duration' | 'interrupt';
}

export interface FailedReport {
  source: string;
  error: { code: string; message: string };
}

export function toReport(d: Detection): DetectionReport {
  return { label: d.label, classId: d.classId, score: Math.round(d.score * 1000) / 1000, box: roundBox(d.box) };
}


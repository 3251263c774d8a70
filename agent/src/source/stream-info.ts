import { letterboxGeometry, type LetterboxGeometry } from '@kestrel/core/image/letterbox';
import type { FrameOutputOptions } from './types.js';

/**
 * Reads ffmpeg's stderr (run with `-loglevel level+verbose`): the size of the frames entering our
 * scaler, and the last lines, to tell an operator why a camera failed. Memory stays bounded
 * whatever ffmpeg prints.
 *
 * Why the scaler's line and not the input's stream dump (`Stream #0:0: Video: h264, 1920x1080`):
 * a camera whose SDP does not carry the H.264 parameter sets, probed for a short time, is dumped
 * as `h264, none` — its size is only known once a keyframe is decoded, and then the only line
 * that says so is the scaler's `w:1920 h:1080 fmt:yuv420p -> w:416 h:234` (verbose level). It is
 * also printed again when the camera changes resolution mid-stream, and it states what ffmpeg
 * actually did, so the letterbox geometry can be checked against it.
 */
export class FfmpegStderr {
  private partial = '';
  private readonly recent: LogLine[] = [];

  constructor(
    private readonly handlers: StderrHandlers,
    private readonly maxLines = 30,
    private readonly maxLineLength = 2048,
  ) {}

  push(chunk: Buffer | string): void {
    const text = this.partial + chunk.toString();
    const lines = text.split(/\r\n|\r|\n/);
    this.partial = (lines.pop() ?? '').slice(0, this.maxLineLength);
    for (const line of lines) this.line(line.slice(0, this.maxLineLength));
  }

  /** Call when the stream has closed: a last line without a newline still counts. */
  end(): void {
    if (this.partial) this.line(this.partial);
    this.partial = '';
  }

  lines(): readonly string[] {
    return this.recent.map((l) => l.raw);
  }

  /** The most telling recent line (the last error, else the last warning), without pointers and credentials. */
  errorSummary(): string | undefined {
    for (const wanted of [ERROR_LEVELS, WARNING_LEVELS]) {
      for (let i = this.recent.length - 1; i >= 0; i--) {
        const l = this.recent[i];
        if (wanted.has(l.level) && !NOISE.some((re) => re.test(l.message))) return cleanLine(l.context ? `[${l.context}] ${l.message}` : l.message);
      }
    }
    return undefined;
  }

  private line(raw: string): void {
    if (!raw.trim()) return;
    const parsed = parseLogLine(raw);
    this.handlers.onLine?.(parsed);
    if (parsed.context === SCALE_NAME) {
      const m = /^w:(\d+) h:(\d+) fmt:\S+.* -> w:(\d+) h:(\d+) /.exec(parsed.message);
      if (m) this.handlers.onScale?.({ srcWidth: +m[1], srcHeight: +m[2], scaledWidth: +m[3], scaledHeight: +m[4] });
    } else if (parsed.context === PAD_NAME) {
      const m = /^w:(\d+) h:(\d+) -> w:(\d+) h:(\d+) x:(\d+) y:(\d+)/.exec(parsed.message);
      if (m) this.handlers.onPad?.({ padX: +m[5], padY: +m[6] });
    }
    this.recent.push(parsed);
    if (this.recent.length > this.maxLines) this.recent.shift();
  }
}

/** Instance names of our filters, so their log lines can be told from other scalers (the demo's photo). */
export const SCALE_NAME = 'scale@kestrel';
export const PAD_NAME = 'pad@kestrel';

export interface ScaleInfo {
  srcWidth: number;
  srcHeight: number;
  scaledWidth: number;
  scaledHeight: number;
}

/**
 * The source's size and letterbox from the scaler's log line (see stream-info.ts). If ffmpeg ever
 * rounds differently from letterboxGeometry(), its numbers win: they describe the pixels.
 */
export function geometryFromScale(info: ScaleInfo, output: FrameOutputOptions): { geometry: LetterboxGeometry; agreed: boolean } {
  const geometry = letterboxGeometry(info.srcWidth, info.srcHeight, output.width, output.height, output.keepAspect ?? true);
  if (geometry.scaledWidth === info.scaledWidth && geometry.scaledHeight === info.scaledHeight) return { geometry, agreed: true };
  geometry.scaledWidth = info.scaledWidth;
  geometry.scaledHeight = info.scaledHeight;
  geometry.scaleX = info.scaledWidth / info.srcWidth;
  geometry.scaleY = info.scaledHeight / info.srcHeight;
  return { geometry, agreed: false };
}

export interface StderrHandlers {
  onScale?: (info: ScaleInfo) => void;
  onPad?: (info: { padX: number; padY: number }) => void;
  onLine?: (line: LogLine) => void;
}

export interface LogLine {
  raw: string;
  /** `[tcp @ 0x…]` → `tcp`; absent for lines without a context. */
  context?: string;
  /** ffmpeg's level tag (`error`, `warning`, `info`, `verbose`, ...); `info` when there is none. */
  level: string;
  message: string;
}

/** `[tcp @ 0x55d0] [error] Connection refused` → context tcp, level error. */
export function parseLogLine(raw: string): LogLine {
  // ffmpeg prints a context as `[name @ 0xpointer]`, always with the pointer.
  const m = /^(?:\[([^\]]+?) @ 0x[0-9a-f]+\] )?(?:\[(panic|fatal|error|warning|info|verbose|debug|trace)\] )?(.*)$/.exec(raw.trimEnd());
  const [, context, level, message] = m ?? [];
  return { raw, ...(context !== undefined && { context }), level: level ?? 'info', message: (message ?? raw).trim() };
}

const ERROR_LEVELS = new Set(['panic', 'fatal', 'error']);
const WARNING_LEVELS = new Set(['warning']);
const NOISE = [/^Conversion failed!?$/, /^Exiting normally/, /received signal \d+/i, /^Error marking filters as finished/, /^Cannot determine format of input stream/];

export function cleanLine(line: string): string {
  return line
    .trim()
    .replace(/ @ 0x[0-9a-f]+\]/gi, ']')
    .replace(/([a-z][a-z0-9+.-]*:\/\/)[^/@\s]*@/gi, '$1***@');
}

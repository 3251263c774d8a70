import { readdirSync, statSync } from 'node:fs';
import { extname, join } from 'node:path';
import { KestrelError, redactUrl } from '@kestrel/core';
import { globFiles, isGlob } from './glob.js';

/** Ultralytics' lists (ultralytics/data/utils.py), so a folder means the same files to both. */
export const IMAGE_EXTENSIONS = new Set(['bmp', 'dng', 'jpeg', 'jpg', 'mpo', 'png', 'tif', 'tiff', 'webp', 'pfm', 'heic', 'avif', 'gif']);
export const VIDEO_EXTENSIONS = new Set(['asf', 'avi', 'm4v', 'mkv', 'mov', 'mp4', 'mpeg', 'mpg', 'ts', 'wmv', 'webm']);
const STREAM_URL = /^(rtsps?|rtmps?|https?|srt|udp|tcp):\/\//i;

/**
 * - `image`: decoded by sharp, annotated at its own size.
 * - `video`: a file read once by ffmpeg.
 * - `stream`: a URL read by ffmpeg until a limit (frames, seconds) or Ctrl-C.
 */
export type PredictSource = { kind: 'image'; path: string } | { kind: 'video'; path: string } | { kind: 'stream'; url: string };

/** What a problem with one argument looks like before anything runs. */
export interface SourceProblem {
  source: string;
  error: KestrelError;
}

export function sourceKind(path: string): 'image' | 'video' {
  return VIDEO_EXTENSIONS.has(extname(path).slice(1).toLowerCase()) ? 'video' : 'image';
}

/**
 * Command-line sources → the files and streams to predict on, in order: a URL is a stream, a
 * folder is its images and videos (not recursive, sorted, as Ultralytics lists it), a pattern is
 * the files it matches, a file is an image or, by its extension, a video. A name that is no file
 * is a problem for that argument alone (reported, the rest still run); a folder or pattern that
 * yields nothing is one too.
 */
export function resolveSources(args: readonly string[]): { sources: PredictSource[]; problems: SourceProblem[] } {
  const sources: PredictSource[] = [];
  const problems: SourceProblem[] = [];
  for (const arg of args) {
    if (STREAM_URL.test(arg)) {
      // A URL naming a video file is read once, like the file; anything else is a live stream.
      const path = safePathname(arg);
      sources.push(path && VIDEO_EXTENSIONS.has(extname(path).slice(1).toLowerCase()) ? { kind: 'video', path: arg } : { kind: 'stream', url: arg });
      continue;
    }
    const st = statOrNull(arg);
    if (st?.isDirectory()) {
      const media = readdirSync(arg)
        .sort()
        .filter((name) => !name.startsWith('.') && isMedia(name))
        .map((name) => join(arg, name))
        .filter((path) => statOrNull(path)?.isFile());
      if (media.length === 0) problems.push({ source: arg, error: new KestrelError('E_SOURCE_EMPTY', `no images or videos in folder ${arg}`) });
      for (const path of media) sources.push({ kind: sourceKind(path), path });
    } else if (st) {
      sources.push({ kind: sourceKind(arg), path: arg });
    } else if (isGlob(arg)) {
      const media = globFiles(arg).filter(isMedia);
      if (media.length === 0) problems.push({ source: arg, error: new KestrelError('E_SOURCE_EMPTY', `no images or videos match ${arg}`) });
      for (const path of media) sources.push({ kind: sourceKind(path), path });
    } else {
      problems.push({ source: arg, error: new KestrelError('E_IMAGE_MISSING', `image not found: ${arg}`) });
    }
  }
  return { sources, problems };
}

/** How messages and reports name a source: a URL without its credentials. */
export function sourceName(s: PredictSource): string {
  return s.kind === 'image' ? s.path : redactUrl(s.kind === 'stream' ? s.url : s.path);
}

function isMedia(name: string): boolean {
  const ext = extname(name).slice(1).toLowerCase();
  return IMAGE_EXTENSIONS.has(ext) || VIDEO_EXTENSIONS.has(ext);
}

function statOrNull(path: string): ReturnType<typeof statSync> | null {
  try {
    return statSync(path);
  } catch {
    return null;
  }
}

function safePathname(url: string): string | null {
  try {
    return new URL(url).pathname;
  } catch {
    return null;
  }
}

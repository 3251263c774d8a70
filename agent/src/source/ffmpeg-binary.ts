import type { Logger } from '@kestrel/core';
import { execFile } from 'node:child_process';
import { accessSync, constants, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { delimiter, join } from 'node:path';

/** Where the ffmpeg the agent runs came from. */
export type FfmpegOrigin = 'env' | 'path' | 'bundled' | 'missing';

export interface FfmpegBinary {
  /** What is spawned: an absolute path, or plain `ffmpeg` when none was found (the source then reports it missing). */
  path: string;
  origin: FfmpegOrigin;
}

/** The npm package whose per-platform optional dependency ships an ffmpeg binary in its tarball. */
export const BUNDLED_FFMPEG_PACKAGE = '@ffmpeg-installer/ffmpeg';

/**
 * Which ffmpeg to run: `$KESTREL_FFMPEG` if set (taken as given, so a wrong path is reported as
 * such rather than silently replaced), else the first `ffmpeg` on `$PATH` (the system's, usually
 * newer and with hardware decoders), else the binary bundled by the optional npm dependency, so
 * `npm ci && kestrel agent` works on a machine without ffmpeg. Resolved once per call; the agent
 * calls it once at start.
 */
export function resolveFfmpeg(env: NodeJS.ProcessEnv = process.env): FfmpegBinary {
  const override = env.KESTREL_FFMPEG?.trim();
  if (override) return { path: override, origin: 'env' };
  const onPath = findOnPath('ffmpeg', env.PATH ?? '');
  if (onPath) return { path: onPath, origin: 'path' };
  const bundled = bundledFfmpeg();
  if (bundled) return { path: bundled, origin: 'bundled' };
  return { path: 'ffmpeg', origin: 'missing' };
}

function findOnPath(name: string, pathVar: string): string | undefined {
  const names = process.platform === 'win32' ? [`${name}.exe`, name] : [name];
  for (const dir of pathVar.split(delimiter)) {
    if (!dir) continue;
    for (const n of names) {
      const candidate = join(dir, n);
      try {
        // X_OK alone also passes for a directory of that name.
        accessSync(candidate, constants.X_OK);
        if (statSync(candidate).isFile()) return candidate;
      } catch {
        // not here
      }
    }
  }
  return undefined;
}

/** The bundled binary's path, or undefined where the package (or this platform's binary) is not installed. */
export function bundledFfmpeg(): string | undefined {
  try {
    // The package throws a plain string when its platform package is absent; any failure means "none".
    const found = createRequire(import.meta.url)(BUNDLED_FFMPEG_PACKAGE) as { path?: unknown };
    return typeof found.path === 'string' ? found.path : undefined;
  } catch {
    return undefined;
  }
}

/** The first line of `ffmpeg -version` without its copyright tail, for the start-up log; undefined if it does not run. */
export function ffmpegVersionLine(path: string): Promise<string | undefined> {
  return new Promise((resolve) => {
    execFile(path, ['-hide_banner', '-version'], { timeout: 10_000 }, (err, stdout) => {
      if (err) resolve(undefined);
      else resolve(stdout.split('\n')[0]?.replace(/\s+Copyright.*$/, '').trim() || undefined);
    });
  });
}

/** Once at start: which ffmpeg the cameras run, from where, and its version (a missing one is said plainly). */
export async function logFfmpegChoice(ffmpeg: FfmpegBinary, log: Logger): Promise<void> {
  if (ffmpeg.origin === 'missing') {
    log.warn('ffmpeg not found on PATH and no bundled binary for this platform: install ffmpeg (e.g. apt install ffmpeg), or set KESTREL_FFMPEG to its path');
    return;
  }
  const version = await ffmpegVersionLine(ffmpeg.path);
  log.info({ path: ffmpeg.path, from: ffmpeg.origin, version: version ?? 'did not run' }, 'ffmpeg');
}

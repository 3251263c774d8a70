// Finding images and their label files on disk.
import { readdirSync, statSync, existsSync } from 'node:fs';
import { join, relative, sep, extname } from 'node:path';

export const IMAGE_EXTENSIONS = new Set(['.jpg', '.jpeg', '.png', '.bmp', '.webp', '.tif', '.tiff']);

export function isImageFile(name: string): boolean {
  return IMAGE_EXTENSIONS.has(extname(name).toLowerCase());
}

/** Image files under `dir`, recursively, as paths relative to `dir` with '/' separators, sorted. */
export function listImages(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string): void => {
    for (const name of readdirSync(d).sort()) {
      if (name.startsWith('.')) continue;
      const path = join(d, name);
      if (statSync(path).isDirectory()) walk(path);
      else if (isImageFile(name)) out.push(relative(dir, path).split(sep).join('/'));
    }
  };
  if (existsSync(dir)) walk(dir);
  return out;
}

/** Ultralytics' rule: the label of `.../images/x/y.jpg` is `.../labels/x/y.txt`. */
export function labelPathForImage(imagePath: string): string {
  const i = imagePath.lastIndexOf(`${sep}images${sep}`);
  const swapped = i >= 0 ? `${imagePath.slice(0, i)}${sep}labels${sep}${imagePath.slice(i + 8)}` : imagePath;
  return swapped.slice(0, swapped.length - extname(swapped).length) + '.txt';
}

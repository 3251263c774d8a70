// Real photographs for tests, from Debian's python3-skimage package: downloaded with
// `apt-get download` and unpacked with `dpkg -x` into a cache (no install), once per machine.
import { existsSync, mkdirSync, readdirSync, copyFileSync, rmSync, mkdtempSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const CACHE_DIR = join(REPO_ROOT, '.cache', 'test-images');

export const TEST_IMAGES = {
  astronaut: 'astronaut.png', // a person (NASA, public domain)
  chelsea: 'chelsea.png', // a cat
  coffee: 'coffee.png', // a cup
  motorcycle: 'motorcycle_left.png', // a motorcycle
} as const;
export type TestImageName = keyof typeof TEST_IMAGES;

/** Path of a test photograph, fetching the skimage .deb the first time. */
export function testImage(name: TestImageName): string {
  const path = join(CACHE_DIR, TEST_IMAGES[name]);
  if (!existsSync(path)) fetchSkimageImages();
  return path;
}

export function fetchSkimageImages(): void {
  mkdirSync(CACHE_DIR, { recursive: true });
  const work = mkdtempSync(join(tmpdir(), 'kestrel-skimage-'));
  try {
    execFileSync('apt-get', ['download', 'python3-skimage'], { cwd: work, stdio: 'pipe' });
    const deb = readdirSync(work).find((f) => f.endsWith('.deb'));
    if (!deb) throw new Error('apt-get download python3-skimage produced no .deb');
    execFileSync('dpkg', ['-x', deb, 'x'], { cwd: work, stdio: 'pipe' });
    const data = join(work, 'x', 'usr', 'lib', 'python3', 'dist-packages', 'skimage', 'data');
    for (const file of Object.values(TEST_IMAGES)) copyFileSync(join(data, file), join(CACHE_DIR, file));
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

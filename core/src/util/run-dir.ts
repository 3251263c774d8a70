import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';

/**
 * A fresh run folder the way Ultralytics makes them: `<project>/<name>`, or `<name>2`,
 * `<name>3`, ... when that one exists, so a second run never writes over the first one's files.
 * `existOk` reuses `<project>/<name>` as it is. The folder is claimed with a non-recursive mkdir
 * (EEXIST → try the next number), so two commands started together still get two folders.
 */
export function createRunDir(project: string, name: string, existOk = false): string {
  const parent = resolve(project);
  mkdirSync(parent, { recursive: true });
  if (existOk) {
    const dir = join(parent, name);
    mkdirSync(dir, { recursive: true });
    return dir;
  }
  for (let k = 1; ; k++) {
    const dir = join(parent, k === 1 ? name : `${name}${k}`);
    try {
      mkdirSync(dir);
      return dir;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
  }
}

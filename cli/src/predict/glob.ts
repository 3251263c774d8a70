import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

/** Whether a command-line argument is a pattern rather than a name (a quoted `'images/*.jpg'`). */
export function isGlob(text: string): boolean {
  return /[*?[]/.test(text);
}

/**
 * Files matching a shell-style pattern (`*`, `?`, `[abc]`, `**` for any depth of folders), sorted.
 * Written here because Node 20 has no fs.glob; patterns are what `yolo predict source=` takes,
 * given quoted so that the shell leaves them alone (and so they work where no shell expands them).
 * Names starting with a dot match only a pattern segment that starts with one, as in a shell.
 */
export function globFiles(pattern: string): string[] {
  const absolute = pattern.startsWith('/');
  const segments = pattern.split('/').filter((s, i) => s !== '' || i === 0);
  if (absolute) segments.shift();
  let start = absolute ? '/' : '.';
  // Leading segments without wildcards are a folder to start in.
  while (segments.length > 1 && !isGlob(segments[0])) start = join(start, segments.shift()!);
  const out: string[] = [];
  walk(start, segments, out);
  const prefix = absolute ? '' : './';
  return [...new Set(out)].map((p) => (!absolute && p.startsWith(prefix) ? p.slice(2) : p)).sort();
}

function walk(dir: string, segments: string[], out: string[]): void {
  const [head, ...rest] = segments;
  if (head === undefined) return;
  if (head === '**') {
    walk(dir, rest, out); // zero folders
    for (const name of list(dir)) if (!name.startsWith('.') && isDir(join(dir, name))) walk(join(dir, name), segments, out);
    return;
  }
  if (!isGlob(head)) {
    const path = join(dir, head);
    if (rest.length === 0) {
      if (isFile(path)) out.push(path);
    } else if (isDir(path)) walk(path, rest, out);
    return;
  }
  const re = segmentRegex(head);
  for (const name of list(dir)) {
    if (name.startsWith('.') && !head.startsWith('.')) continue;
    if (!re.test(name)) continue;
    const path = join(dir, name);
    if (rest.length === 0) {
      if (isFile(path)) out.push(path);
    } else if (isDir(path)) walk(path, rest, out);
  }
}

function segmentRegex(segment: string): RegExp {
  let re = '';
  for (let i = 0; i < segment.length; i++) {
    const c = segment[i];
    if (c === '*') re += '[^/]*';
    else if (c === '?') re += '[^/]';
    else if (c === '[') {
      const end = segment.indexOf(']', i + 2);
      if (end < 0) re += '\\[';
      else {
        const body = segment.slice(i + 1, end).replace(/^!/, '^').replace(/\\/g, '\\\\');
        re += `[${body}]`;
        i = end;
      }
    } else re += c.replace(/[.+^${}()|\\]/g, '\\$&');
  }
  return new RegExp(`^${re}$`);
}

function list(dir: string): string[] {
  try {
    return readdirSync(dir).sort();
  } catch {
    return [];
  }
}

function isDir(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

function isFile(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

import { readFileSync } from 'node:fs';

/** The Kestrel release, from the root package.json (one version for every part). */
export const KESTREL_VERSION: string = (() => {
  try {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version?: string };
    return pkg.version ?? '0.0.0';
  } catch {
    return '0.0.0';
  }
})();

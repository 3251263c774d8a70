import { readFileSync } from 'node:fs';

/**
 * The Kestrel release (one version for every part): the root package.json in a checkout, else
 * core's own package.json, which is what an install of the packed tarball has (the parts sit in
 * node_modules/@kestrel/ there, with no root package.json two levels up).
 */
export const KESTREL_VERSION: string = (() => {
  for (const candidate of ['../../package.json', '../package.json']) {
    try {
      const pkg = JSON.parse(readFileSync(new URL(candidate, import.meta.url), 'utf8')) as { name?: string; version?: string };
      if ((pkg.name === 'kestrel' || pkg.name === '@kestrel/core') && pkg.version) return pkg.version;
    } catch {
      // not there: try the next
    }
  }
  return '0.0.0';
})();

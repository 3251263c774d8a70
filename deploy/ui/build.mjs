// Builds the hub's review UI into deploy/ui/dist (served by `kestrel hub` at /ui/): one bundled
// script, one stylesheet, one page. esbuild bundles Preact and the app in well under a second, so
// `npm ci` (the root `prepare` script) stays quick. The output is not committed.
import { build } from 'esbuild';
import { copyFileSync, mkdirSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));

/** Builds into `out` (default deploy/ui/dist), replacing what was there. */
export async function buildUi(out = join(here, 'dist')) {
  rmSync(out, { recursive: true, force: true });
  mkdirSync(out, { recursive: true });
  await build({
    entryPoints: [join(here, 'src/main.tsx')],
    outfile: join(out, 'app.js'),
    bundle: true,
    format: 'esm',
    target: 'es2022',
    jsx: 'automatic',
    jsxImportSource: 'preact',
    minify: true,
    sourcemap: true,
    legalComments: 'linked',
    logLevel: 'warning',
  });
  for (const file of ['index.html', 'app.css', 'favicon.svg']) copyFileSync(join(here, 'src', file), join(out, file));
  return out;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const out = await buildUi();
  process.stderr.write(`review UI built into ${out}\n`);
}

#!/usr/bin/env node
// The kestrel command. Runs the compiled CLI (built by `npm ci` through the root `prepare` step).
import { existsSync } from 'node:fs';

const main = new URL('../dist/main.js', import.meta.url);
if (!existsSync(main)) {
  process.stderr.write('kestrel: the CLI is not built yet; run `npm run build` in the repository root\n');
  process.exit(2);
}
const { runCli } = await import(main.href);
await runCli(process.argv);

// Entry for running the CLI straight from the TypeScript sources (tests, development):
//   node --conditions=kestrel-source --import tsx cli/src/entry.ts <command> ...
import { runCli } from './main.js';

await runCli(process.argv);

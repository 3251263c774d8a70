import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { REPO_ROOT } from './images.js';

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

// tsx by absolute URL: `--import tsx` resolves from the working directory, which a test may set
// to a scratch folder (where run folders such as runs/detect/predict are then written).
const TSX = pathToFileURL(createRequire(join(REPO_ROOT, 'package.json')).resolve('tsx')).href;

/** The command line of `kestrel <args>` from the TypeScript sources, for tests that drive the process themselves. */
export function kestrelArgs(args: string[]): string[] {
  return ['--conditions=kestrel-source', '--import', TSX, join(REPO_ROOT, 'cli/src/entry.ts'), ...args];
}

/** Runs `kestrel <args>` from the TypeScript sources, as a user would run the command. */
export function runKestrel(args: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, kestrelArgs(args), {
      cwd: options.cwd ?? REPO_ROOT,
      env: { ...process.env, ...options.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d));
    child.stderr.on('data', (d: Buffer) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 120_000);
    child.on('error', reject);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

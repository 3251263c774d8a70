import { accessSync, constants, mkdirSync, statSync } from 'node:fs';
import { KestrelError } from '@kestrel/core';

/** A missing or unreadable model is a clear configuration error, named before anything starts. */
export function checkModelFile(path: string, fromConfig: boolean): void {
  const where = fromConfig ? ' (model.path in the config)' : ' (the bundled model: reinstall Kestrel, or set model.path)';
  let problem: string | undefined;
  try {
    if (statSync(path).isDirectory()) problem = 'is a folder, not an ONNX file';
    else accessSync(path, constants.R_OK);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    problem = code === 'ENOENT' ? 'does not exist' : code === 'EACCES' ? 'is not readable by this user' : (err as Error).message;
  }
  if (problem) throw new KestrelError('E_MODEL_MISSING', `model ${path} ${problem}${where}`);
}

/** Why a folder cannot hold the agent's state, or undefined when it can (it is created if missing). */
export function folderProblem(dir: string): string | undefined {
  try {
    mkdirSync(dir, { recursive: true });
    accessSync(dir, constants.W_OK);
    return undefined;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EACCES' || code === 'EPERM') return `is not writable by this user (uid ${process.getuid?.() ?? '?'})`;
    if (code === 'EROFS') return 'is on a read-only file system';
    if (code === 'ENOTDIR') return 'is under a path that is a file, not a folder';
    if (code === 'ENOSPC') return 'is on a full disk';
    return `cannot be used (${code ?? (err as Error).message})`;
  }
}

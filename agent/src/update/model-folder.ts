import { existsSync } from 'node:fs';
import { copyFile, mkdir, readdir, rm, stat } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { KestrelError } from '@kestrel/core';
import { sha256File } from './download.js';

/**
 * `<stateDir>/models`: model files named by their SHA-256, as updates download them. It keeps
 * what the device runs and what it would roll back to, and nothing else for long: a refused
 * artifact goes at once (15 MB each once stayed behind), older models when a new one passes.
 */
export class ModelFolder {
  readonly dir: string;

  constructor(stateDir: string) {
    this.dir = join(stateDir, 'models');
  }

  pathOf(sha256: string): string {
    return join(this.dir, `${sha256}.onnx`);
  }

  /**
   * True when a file with this hash is already on the device (a rollback to the previous model),
   * copied to its place. The hash matching means the file is the one signed for; a size that
   * disagrees means the manifest itself is wrong, and it is refused (E_ARTIFACT_SIZE) even then.
   */
  async localCopy(artifact: { sha256: string; size: number }, candidates: readonly (string | undefined)[]): Promise<boolean> {
    const path = this.pathOf(artifact.sha256);
    for (const candidate of [path, ...candidates].filter((p): p is string => p !== undefined && existsSync(p))) {
      if ((await sha256File(candidate)) !== artifact.sha256) continue;
      const { size } = await stat(candidate);
      if (size !== artifact.size) throw new KestrelError('E_ARTIFACT_SIZE', `the artifact with SHA-256 ${artifact.sha256} is ${size} bytes, the signed manifest says ${artifact.size}`);
      if (candidate !== path) {
        await mkdir(this.dir, { recursive: true });
        await copyFile(candidate, path);
      }
      return true;
    }
    return false;
  }

  /** A refused artifact and its partial download go, unless a kept model is that file. */
  async removeRefused(sha256: string, kept: readonly (string | undefined)[]): Promise<void> {
    const path = this.pathOf(sha256);
    if (kept.includes(path)) return;
    await rm(path, { force: true });
    await rm(`${path}.partial`, { force: true });
  }

  /** Keeps these model files; older downloads go. Partial downloads stay for resume. */
  async prune(kept: readonly (string | undefined)[]): Promise<void> {
    const keep = new Set(kept.filter((p): p is string => p !== undefined).map((p) => basename(p)));
    for (const name of await readdir(this.dir).catch(() => [] as string[])) {
      if (name.endsWith('.onnx') && !keep.has(name)) await rm(join(this.dir, name), { force: true });
    }
  }
}

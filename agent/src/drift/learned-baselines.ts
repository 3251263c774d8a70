import { mkdirSync, readFileSync, renameSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { assertTopicLevel, parseDriftBaseline, type DriftBaseline } from '@kestrel/core';

/**
 * Baselines learned on this device, one file per model and camera:
 * `<stateDir>/drift/<model sha256, 16 hex>/<camera>.json`. Keyed by the model's hash, so a
 * model that comes back (a rollback) finds what it learned, and a new one learns afresh.
 * Written whole to a temporary file and renamed, so a crash leaves the old file or the new one.
 */
export class LearnedBaselines {
  constructor(private readonly stateDir: string) {}

  pathOf(modelSha256: string, camera: string): string {
    // Camera names are topic levels (no "/"), which makes them safe file names too.
    return join(this.stateDir, 'drift', modelSha256.slice(0, 16), `${assertTopicLevel(camera, 'camera name')}.json`);
  }

  /** The learned baseline, undefined when none was learned; a damaged file throws (the caller learns again). */
  load(modelSha256: string, camera: string): DriftBaseline | undefined {
    const path = this.pathOf(modelSha256, camera);
    if (!existsSync(path)) return undefined;
    return parseDriftBaseline(readFileSync(path, 'utf8'), path);
  }

  save(modelSha256: string, camera: string, baseline: DriftBaseline): string {
    const path = this.pathOf(modelSha256, camera);
    mkdirSync(join(path, '..'), { recursive: true });
    const tmp = `${path}.tmp`;
    writeFileSync(tmp, JSON.stringify(baseline));
    renameSync(tmp, path);
    return path;
  }
}

import { mkdirSync, readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { KestrelError, writeFileAtomic, type ModelRef } from '@kestrel/core';
import type { StoredKeySet } from './key-trust.js';

/** A model the updater knows the file of. */
export interface InstalledModel extends ModelRef {
  path: string;
  /** Hub release number, when the model came from a release (the configured model has none). */
  release?: number;
}

/**
 * What the updater remembers across restarts (`<stateDir>/update/state.json`): the highest
 * sequence it acted on (replay protection must survive a reboot), the model it swapped in and
 * the one before, and whether a post-swap watch was still running when the agent stopped.
 */
export interface UpdateState {
  lastSequence: number;
  current?: InstalledModel;
  previous?: InstalledModel;
  /** Set while a watch runs: an agent that restarts in the middle rolls back (it may have crashed on the new model). */
  watching?: {
    sequence: number;
    until: number;
    /**
     * `previous` before this swap: the last model that passed its watch before the one now
     * replaced. A rollback restores it, so `previous` never names the model that just failed
     * (a `deploy rollback` would otherwise reinstall it).
     */
    previousBefore?: InstalledModel;
  };
  /** The model path in the agent config when `current` was installed: a config change wins over updates. */
  configuredPath?: string;
  /** The release-key set rotated in over `keys/set`, if any. */
  keys?: StoredKeySet;
}

export class UpdateStateStore {
  constructor(private readonly path: string) {}

  read(): UpdateState {
    let text: string;
    try {
      text = readFileSync(this.path, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { lastSequence: 0 };
      throw new KestrelError('E_STATE_DIR', `cannot read update state ${this.path}: ${(err as Error).message}`);
    }
    try {
      const value = JSON.parse(text) as UpdateState;
      if (typeof value.lastSequence !== 'number') throw new Error('lastSequence missing');
      return value;
    } catch (err) {
      // A corrupt file must not reset replay protection silently.
      throw new KestrelError('E_STATE_DIR', `update state ${this.path} is corrupt (${(err as Error).message}); move it away to reset model updates`);
    }
  }

  async write(state: UpdateState): Promise<void> {
    mkdirSync(dirname(this.path), { recursive: true });
    await writeFileAtomic(this.path, Buffer.from(JSON.stringify(state, null, 2)));
  }
}

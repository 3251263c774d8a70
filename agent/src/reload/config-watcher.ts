import { watch, type FSWatcher } from 'node:fs';
import { basename, dirname } from 'node:path';
import type { Logger } from '@kestrel/core';

export interface ConfigWatcherOptions {
  path: string;
  /** Called once per burst of changes, `debounceMs` after the last one. */
  onChange: () => void;
  debounceMs?: number;
  logger: Logger;
}

/**
 * Watches the config file for edits. It watches the file's folder, not the file: editors and
 * configuration tools (vim, Ansible, `mv new old`) replace the file by rename, and a watch on
 * the old inode would never fire again. A save is several events (truncate, write, rename), so
 * they are gathered into one change after a quiet `debounceMs`.
 */
export class ConfigWatcher {
  private watcher?: FSWatcher;
  private timer?: NodeJS.Timeout;

  constructor(private readonly options: ConfigWatcherOptions) {}

  start(): void {
    const { path, logger } = this.options;
    const name = basename(path);
    try {
      this.watcher = watch(dirname(path), { persistent: false }, (_event, file) => {
        // Some platforms do not name the file; then any change in the folder counts.
        if (file !== null && file.toString() !== name) return;
        clearTimeout(this.timer);
        this.timer = setTimeout(() => this.options.onChange(), this.options.debounceMs ?? 500);
      });
      this.watcher.on('error', (err) => logger.warn({ err: err.message, path }, 'config watch failed; reload with SIGHUP'));
    } catch (err) {
      logger.warn({ err: (err as Error).message, path }, 'cannot watch the config file; reload with SIGHUP');
    }
  }

  stop(): void {
    clearTimeout(this.timer);
    this.watcher?.close();
    this.watcher = undefined;
  }
}

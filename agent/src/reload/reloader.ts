import type { Logger } from '@kestrel/core';
import type { AgentConfig } from '@kestrel/config';
import type { CameraSet } from '../pipeline/camera-set.js';
import type { AgentMetrics } from '../metrics/agent-metrics.js';
import type { SystemdService } from '../systemd/service.js';
import { ConfigWatcher } from './config-watcher.js';
import { planReload, type ReloadPlan } from './plan.js';

export interface ReloadResult {
  ok: boolean;
  /** Why the reload was refused or failed (the agent keeps running the previous config). */
  error?: string;
  plan?: ReloadPlan;
}

export interface ReloaderDeps {
  /** The configuration the agent started with. */
  config: AgentConfig;
  /** Reads the configuration again (SIGHUP, file change). Without it, reload() is refused. */
  reloadConfig?: () => AgentConfig;
  /** The config file to watch: a save reloads. Null or absent: reload on SIGHUP only. */
  watchPath?: string | null;
  cameras: CameraSet;
  metrics: AgentMetrics;
  systemd: SystemdService;
  logger: Logger;
  /** Whether the agent runs (a reload before the model is loaded, or while stopping, is refused). */
  running: () => boolean;
  /** After every reload, applied or not: the state changed (and, when applied, cameras need time to connect). */
  onReloaded: (applied: boolean) => void;
}

/**
 * Applies what can change live: cameras added, removed or changed (only the changed ones
 * restart); everything else is reported as needing a restart. A config that does not load leaves
 * the agent running as it was, and says so in `degraded`. Reloads run one at a time.
 */
export class Reloader {
  readonly name = 'reload';
  private current: AgentConfig;
  private pending: Promise<unknown> = Promise.resolve();
  private problem?: string;
  private needsRestart: string[] = [];
  private watcher?: ConfigWatcher;

  constructor(private readonly deps: ReloaderDeps) {
    this.current = deps.config;
  }

  /** Watches the config file, when there is one to watch. */
  start(): void {
    const { watchPath, logger } = this.deps;
    if (!watchPath) return;
    this.watcher = new ConfigWatcher({ path: watchPath, onChange: () => void this.reload('config file changed'), logger });
    this.watcher.start();
  }

  /** No more reloads start; one under way finishes. */
  async stop(): Promise<void> {
    this.watcher?.stop();
    await this.pending;
  }

  reload(why = 'reload requested'): Promise<ReloadResult> {
    const next = this.pending.then(() => this.apply(why));
    this.pending = next.catch(() => undefined);
    return next;
  }

  /** Sections changed in the config since start that a reload could not apply. */
  get pendingRestart(): readonly string[] {
    return this.needsRestart;
  }

  degraded(): string[] {
    const reasons = this.problem ? [this.problem] : [];
    if (this.needsRestart.length) reasons.push(`needs restart: changes to ${this.needsRestart.join(', ')} in the config take effect after a restart`);
    return reasons;
  }

  private async apply(why: string): Promise<ReloadResult> {
    const { deps } = this;
    const log = deps.logger;
    if (!deps.running()) return { ok: false, error: 'the agent is not running' };
    if (!deps.reloadConfig) return { ok: false, error: 'this agent was started without a way to read its config again' };
    log.info({ why }, 'reloading the configuration');
    deps.systemd.reloading();
    let next: AgentConfig;
    try {
      next = deps.reloadConfig();
    } catch (err) {
      const message = (err as Error).message;
      this.problem = `config reload failed, still running the previous config: ${message.split('\n').join(' ')}`;
      log.error({ err: message }, 'config reload failed; the previous config stays in force');
      deps.metrics.configReloads.inc({ result: 'failed' });
      deps.onReloaded(false);
      deps.systemd.reloaded();
      return { ok: false, error: message };
    }
    this.problem = undefined;
    const plan = planReload(this.current, next);
    await deps.cameras.apply(plan);
    // Only the cameras are taken from the new config; every other section stays as started.
    this.current = { ...this.current, cameras: next.cameras };
    this.needsRestart = plan.needsRestart;
    log.info({ added: plan.add.map((c) => c.name), removed: plan.remove, restarted: plan.restart.map((c) => c.name), unchanged: plan.unchanged }, 'config reloaded');
    if (this.needsRestart.length) log.warn({ sections: this.needsRestart }, 'changes to these sections take effect after a restart');
    deps.metrics.configReloads.inc({ result: 'ok' });
    deps.onReloaded(true);
    deps.systemd.reloaded();
    return { ok: true, plan };
  }
}

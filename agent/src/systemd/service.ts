import type { Logger } from '@kestrel/core';
import type { Notifier } from './sd-notify.js';

/** What the agent says about itself at a watchdog tick. */
export interface Liveness {
  /** True while the agent does its job: frames go through inference. Only then is the watchdog fed. */
  alive: boolean;
  /** One line for `systemctl status` (STATUS=). */
  status: string;
}

export interface SystemdServiceOptions {
  notifier: Notifier;
  logger: Logger;
  /** `withinMs` is the watchdog period: progress older than that does not count. */
  liveness: (withinMs: number) => Liveness;
  env?: NodeJS.ProcessEnv;
  pid?: number;
}

/**
 * The agent as a systemd service: READY=1 once started, WATCHDOG=1 every half period while the
 * agent is alive (and not otherwise, so that systemd restarts a wedged agent), STATUS= lines,
 * RELOADING=1 around a reload and STOPPING=1 on shutdown. Outside systemd every call is a no-op.
 */
export class SystemdService {
  /** The watchdog period systemd asked for (WatchdogSec=), or undefined when there is none. */
  readonly watchdogMs: number | undefined;
  private timer?: NodeJS.Timeout;
  private lastStatus = '';
  private fed = true;
  private stopped = false;
  private readonly log: Logger;

  constructor(private readonly options: SystemdServiceOptions) {
    this.log = options.logger;
    this.watchdogMs = watchdogPeriodMs(options.env ?? process.env, options.pid ?? process.pid);
  }

  get kind(): Notifier['kind'] {
    return this.options.notifier.kind;
  }

  /** The agent is up: READY=1, and the watchdog starts. */
  ready(): void {
    const { status } = this.options.liveness(this.watchdogMs ?? Number.POSITIVE_INFINITY);
    this.lastStatus = status;
    this.options.notifier.notify({ READY: 1, STATUS: status });
    if (this.watchdogMs && !this.timer) {
      this.timer = setInterval(() => this.tick(), Math.max(50, Math.floor(this.watchdogMs / 2)));
      this.timer.unref();
      this.log.info({ watchdogMs: this.watchdogMs, via: this.kind }, 'systemd watchdog on');
    }
  }

  /** Sends STATUS= when it changed. */
  status(status: string): void {
    if (this.stopped || status === this.lastStatus) return;
    this.lastStatus = status;
    this.options.notifier.notify({ STATUS: status });
  }

  reloading(): void {
    this.options.notifier.notify({ RELOADING: 1, STATUS: 'reloading the configuration' });
  }

  reloaded(): void {
    const { status } = this.options.liveness(this.watchdogMs ?? Number.POSITIVE_INFINITY);
    this.lastStatus = status;
    this.options.notifier.notify({ READY: 1, STATUS: status });
  }

  stopping(): void {
    this.stopped = true;
    clearInterval(this.timer);
    this.timer = undefined;
    this.options.notifier.notify({ STOPPING: 1, STATUS: 'stopping' });
  }

  close(): void {
    clearInterval(this.timer);
    this.timer = undefined;
    this.options.notifier.close();
  }

  private tick(): void {
    const { alive, status } = this.options.liveness(this.watchdogMs!);
    if (alive) {
      this.options.notifier.notify({ WATCHDOG: 1, ...(status !== this.lastStatus ? { STATUS: status } : {}) });
      if (!this.fed) this.log.info('systemd watchdog fed again');
    } else {
      this.status(status);
      // One line per stretch without progress; systemd restarts the agent if it lasts a full period.
      if (this.fed) this.log.warn({ reason: status, watchdogMs: this.watchdogMs }, 'systemd watchdog not fed: no progress');
    }
    this.lastStatus = status;
    this.fed = alive;
  }
}

/** sd_watchdog_enabled(): WATCHDOG_USEC, for this process only (WATCHDOG_PID, when set, must be ours). */
export function watchdogPeriodMs(env: NodeJS.ProcessEnv, pid: number): number | undefined {
  const usec = Number(env.WATCHDOG_USEC);
  if (!env.WATCHDOG_USEC || !Number.isFinite(usec) || usec <= 0) return undefined;
  if (env.WATCHDOG_PID && Number(env.WATCHDOG_PID) !== pid) return undefined;
  return usec / 1000;
}

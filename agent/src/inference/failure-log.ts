import type { Logger } from '@kestrel/core';

/**
 * Logs inference failures without flooding: the first of each kind (error code) at once, then at
 * most one line per interval with how many happened meanwhile. A model that fails every frame at
 * 10 fps would otherwise write 36,000 error lines an hour; silence would hide it altogether.
 */
export class FailureLog {
  private readonly kinds = new Map<string, { loggedAt: number; since: number }>();

  constructor(
    private readonly logger: Logger,
    private readonly intervalMs = 60_000,
    private readonly now: () => number = Date.now,
  ) {}

  note(code: string, camera: string, message: string): void {
    const at = this.now();
    const kind = this.kinds.get(code);
    if (kind && at - kind.loggedAt < this.intervalMs) {
      kind.since += 1;
      return;
    }
    this.logger.error({ code, camera, err: message, ...(kind ? { failuresSinceLastLog: kind.since } : {}) }, 'inference failed');
    this.kinds.set(code, { loggedAt: at, since: 0 });
  }
}

import type { Logger } from '@kestrel/core';
import { parseBind } from '@kestrel/config';
import { HealthServer, type ClipLookup, type SnapshotLookup } from './server.js';
import type { HealthReport } from './report.js';

/**
 * /healthz, /metrics and the cameras' snapshots and clips. Detection does not need them: when the address cannot be served the
 * agent runs without the endpoint and says why in `degraded`.
 */
export class HttpPart {
  readonly name = 'http';
  private server?: HealthServer;
  private problem?: string;
  /** The address served on, once started. */
  address?: { host: string; port: number };

  constructor(
    private readonly deps: { bind: string; health: () => HealthReport; metrics: () => Promise<string>; metricsContentType: string; snapshot?: SnapshotLookup; clip?: ClipLookup; logger: Logger },
  ) {}

  async start(): Promise<void> {
    const { host, port } = parseBind(this.deps.bind);
    const server = new HealthServer({ host, port, health: this.deps.health, metrics: this.deps.metrics, metricsContentType: this.deps.metricsContentType, ...(this.deps.snapshot && { snapshot: this.deps.snapshot }), ...(this.deps.clip && { clip: this.deps.clip }), logger: this.deps.logger });
    try {
      const address = await server.start();
      this.server = server;
      this.address = { host: address.address, port: address.port };
    } catch (err) {
      this.problem = (err as Error).message;
      this.deps.logger.error({ err: this.problem }, 'health endpoint not started');
    }
  }

  async stop(): Promise<void> {
    await this.server?.stop();
  }

  degraded(): string[] {
    return this.problem ? [this.problem] : [];
  }
}

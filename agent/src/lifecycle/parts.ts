import type { Logger } from '@kestrel/core';

/**
 * What every long-lived piece of the agent is to its owner: it starts, it stops, and it can say
 * why it is degraded. Parts that wrap a class with its own method names are written inline
 * (`{ name: 'outbox', start: () => outbox.open(), stop: () => outbox.close() }`).
 */
export interface Part {
  readonly name: string;
  start(): Promise<unknown> | unknown;
  /** `timeoutMs`: what is left of the stop budget, for parts that drain (the event outbox). */
  stop(timeoutMs: number): Promise<unknown> | unknown;
  /** Why this part is not fully working now; empty or absent when it is. */
  degraded?(): readonly string[];
}

/**
 * The agent's parts in start order. `start` appends and starts one; `stop` stops every part that
 * was started (or was starting) in exactly the reverse order, each on its own: one that fails is
 * logged and the rest still stop. zigbee2mqtt's controller and Frigate's app own their parts
 * the same way.
 */
export class PartList {
  private readonly parts: Part[] = [];
  private stopping = false;

  constructor(private readonly logger: Logger) {}

  /**
   * Starts `part` after the ones already started. A part joins the list before its start runs:
   * a stop that comes while it starts (a signal during a minutes-long model load) stops it too.
   * Returns false, starting nothing, once a stop has begun.
   */
  async start<P extends Part>(part: P): Promise<boolean> {
    if (this.stopping) return false;
    this.parts.push(part);
    await part.start();
    return !this.stopping;
  }

  /** Stops everything in reverse start order within about `timeoutMs`. */
  async stop(timeoutMs: number): Promise<void> {
    this.stopping = true;
    const deadline = Date.now() + timeoutMs;
    for (const part of [...this.parts].reverse()) {
      try {
        await part.stop(Math.max(0, deadline - Date.now()));
      } catch (err) {
        this.logger.error({ part: part.name, err: (err as Error).message }, 'part did not stop cleanly');
      }
    }
  }

  get stopped(): boolean {
    return this.stopping;
  }

  names(): string[] {
    return this.parts.map((p) => p.name);
  }

  /** Every started part's degraded reasons, in start order. */
  degraded(): string[] {
    return this.parts.flatMap((p) => p.degraded?.() ?? []);
  }
}

import type { Logger } from '@kestrel/core';
import type { SampleBuffer } from './sample-buffer.js';
import { TransportError, type OutgoingSample, type SampleTransport, type SendOutcome } from './transport/types.js';

export interface UploaderOptions {
  batchSize: number;
  backoff: { minMs: number; maxMs: number };
  /** How often an idle uploader looks for samples nobody told it about. */
  idleMs: number;
}

export interface UploaderStats {
  transport: 'http' | 'mqtt';
  /** Confirmed by the receiver (stored now or before) and removed from the buffer. */
  sent: number;
  /** Of `sent`, how many the receiver already had (a resend after a lost answer). */
  duplicates: number;
  /** Refused for good by the receiver. */
  rejected: number;
  /** Batches that failed and wait for a retry. */
  failures: number;
  consecutiveFailures: number;
  lastError?: string;
  lastSuccessAt?: number;
  /** While backing off: ms until the next try. */
  retryInMs?: number;
}

/**
 * Moves samples from the buffer to the hub, oldest first, in batches. A sample leaves the buffer
 * only once the receiver confirmed it by id, so a lost answer or a crash means a resend, which
 * the hub recognises as a duplicate: at-least-once delivery, stored exactly once.
 * Failures back off exponentially with full jitter (a fleet coming back after a hub outage
 * does not hit it in lockstep).
 */
export class Uploader {
  private running = false;
  private loop?: Promise<void>;
  private wake?: () => void;
  private delayMs = 0;
  private retryAt?: number;
  private readonly counters = { sent: 0, duplicates: 0, rejected: 0, failures: 0, consecutiveFailures: 0 };
  private lastError?: string;
  private lastSuccessAt?: number;

  constructor(
    private readonly buffer: SampleBuffer,
    private readonly transport: SampleTransport,
    private readonly options: UploaderOptions,
    private readonly logger: Logger,
    private readonly random: () => number = Math.random,
  ) {}

  start(): void {
    if (this.running) return;
    this.running = true;
    this.loop = this.run();
  }

  /** A new sample is in the buffer: send it now unless backing off. */
  kick(): void {
    if (this.retryAt === undefined) this.wake?.();
  }

  /**
   * Stops: waits up to `timeoutMs` for the batch in flight to be answered. A batch left
   * unanswered stays in the buffer and goes again after the next start (the hub then reports
   * what it already had as duplicates).
   */
  async stop(timeoutMs = 5000): Promise<void> {
    this.running = false;
    this.wake?.();
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([this.loop, new Promise((resolve) => (timer = setTimeout(resolve, timeoutMs)))]);
    clearTimeout(timer);
    await this.transport.close?.();
  }

  private async run(): Promise<void> {
    while (this.running) {
      let ok: boolean;
      try {
        const batch = await this.nextBatch();
        if (batch.length === 0) {
          await this.sleep(this.options.idleMs);
          continue;
        }
        ok = await this.deliver(batch);
      } catch (err) {
        // The buffer closed under an answer that came after stop's wait: nothing is lost, the
        // samples are still in the buffer for the next start.
        if (!this.running) return;
        this.logger.error({ err: (err as Error).message }, 'sample upload step failed');
        ok = false;
      }
      if (ok) {
        this.delayMs = 0;
      } else {
        // Full jitter: anywhere between 0 and the (doubling, capped) ceiling, at least minMs.
        const { minMs, maxMs } = this.options.backoff;
        this.delayMs = Math.min(maxMs, this.delayMs ? this.delayMs * 2 : minMs);
        const wait = Math.max(minMs, Math.round(this.random() * this.delayMs));
        this.retryAt = Date.now() + wait;
        await this.sleep(wait);
        this.retryAt = undefined;
      }
    }
  }

  private async nextBatch(): Promise<OutgoingSample[]> {
    const out: OutgoingSample[] = [];
    for (const record of this.buffer.pending(this.options.batchSize)) {
      const jpeg = await this.buffer.readImage(record.id);
      // Gone meanwhile (evicted by the budget): its row went with it, or goes now.
      if (!jpeg) this.buffer.remove(record.id);
      else out.push({ record, jpeg });
    }
    return out;
  }

  /** Sends a batch (splitting a refused one to find the bad sample); true when nothing must be retried. */
  private async deliver(batch: OutgoingSample[]): Promise<boolean> {
    let outcomes: SendOutcome[];
    try {
      outcomes = await this.transport.send(batch);
    } catch (err) {
      const failure = err instanceof TransportError ? err.failure : 'retry';
      const message = (err as Error).message;
      if (failure === 'refused') {
        if (batch.length === 1) {
          this.reject(batch[0].record.id, message);
          return true;
        }
        // One bad sample must not hold the others back: send them one by one.
        for (const single of batch) {
          if (!this.running) return true;
          if (!(await this.deliver([single]))) return false;
        }
        return true;
      }
      this.fail(batch, failure === 'auth' ? 'error' : 'warn', message);
      return false;
    }
    for (const outcome of outcomes) {
      if (outcome.status === 'rejected') {
        this.reject(outcome.id, outcome.error);
        continue;
      }
      this.buffer.remove(outcome.id);
      this.counters.sent++;
      if (outcome.status === 'duplicate') this.counters.duplicates++;
    }
    this.lastSuccessAt = Date.now();
    if (this.counters.consecutiveFailures > 0) this.logger.info({ after: this.counters.consecutiveFailures }, 'sample upload works again');
    this.counters.consecutiveFailures = 0;
    return outcomes.length === batch.length;
  }

  private reject(id: string, error: string): void {
    this.buffer.markRejected(id, error);
    this.counters.rejected++;
    this.logger.warn({ id, error }, 'hub refused a sample; it stays in the buffer, marked rejected');
  }

  private fail(batch: readonly OutgoingSample[], level: 'warn' | 'error', message: string): void {
    this.counters.failures++;
    this.counters.consecutiveFailures++;
    this.buffer.markAttempt(batch.map((s) => s.record.id), message);
    // Log the first failure of a streak and then every 10th: an outage of hours stays readable.
    if (message !== this.lastError || this.counters.consecutiveFailures % 10 === 1) {
      this.logger[level]({ err: message, consecutive: this.counters.consecutiveFailures, backlog: this.buffer.stats().pending }, 'sample upload failed; will retry');
    }
    this.lastError = message;
  }

  private sleep(ms: number): Promise<void> {
    if (!this.running) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done(): void {
        clearTimeout(timer);
        resolve();
      }
      this.wake = () => {
        this.wake = undefined;
        done();
      };
    });
  }

  stats(): UploaderStats {
    return {
      transport: this.transport.name,
      ...this.counters,
      ...(this.lastError ? { lastError: this.lastError } : {}),
      ...(this.lastSuccessAt ? { lastSuccessAt: this.lastSuccessAt } : {}),
      ...(this.retryAt !== undefined ? { retryInMs: Math.max(0, this.retryAt - Date.now()) } : {}),
    };
  }
}

// Where trials run. In this process by default, one after another (training already uses every
// core); or as jobs on a PostgreSQL queue (pg-boss), so that `kestrel tune worker` on other
// machines takes trials from the same search. pg-boss because it is a well-kept queue on an engine
// the hub already runs, with retries and expiry: a worker that dies mid-trial gives its trial back
// when the job expires, another worker runs it again.
import { setTimeout as sleep } from 'node:timers/promises';
import PgBoss from 'pg-boss';
import { KestrelError } from '@kestrel/core/util/errors';
import { redactUrl, type Logger } from '@kestrel/core/util/log';
import { failedTrial, runTrialOrFail, type TrialResult, type TrialSpec } from './trial.js';

export interface TrialRunner {
  /** Runs every trial and resolves with their results, in any order; `onResult` as each ends. */
  run(specs: readonly TrialSpec[], onResult: (r: TrialResult) => void): Promise<TrialResult[]>;
  close(): Promise<void>;
}

export class InProcessRunner implements TrialRunner {
  constructor(private readonly logger: Logger) {}

  async run(specs: readonly TrialSpec[], onResult: (r: TrialResult) => void): Promise<TrialResult[]> {
    const out: TrialResult[] = [];
    for (const spec of specs) {
      const r = await runTrialOrFail(spec, this.logger);
      out.push(r);
      onResult(r);
    }
    return out;
  }

  async close(): Promise<void> {}
}

export interface QueueOptions {
  /** postgres:// URL of the database the queue lives in. */
  url: string;
  /** Schema pg-boss keeps its tables in (default kestrel_tune). */
  schema?: string;
  logger: Logger;
  /** Whether this process also runs trials (default true): a search with no worker still ends. */
  work?: boolean;
  /** A trial running longer than this is given to another worker (default 4 h). */
  trialTimeoutMinutes?: number;
  /** How often an idle worker or the waiting coordinator looks at the queue. */
  pollMs?: number;
}

/** Queue names: one per search, so workers can list the searches that have work. */
export const QUEUE_PREFIX = 'kestrel-tune-';

export async function startBoss(url: string, schema: string, logger: Logger): Promise<PgBoss> {
  if (!/^postgres(ql)?:\/\//.test(url)) throw new KestrelError('E_USAGE', `--queue must be a postgres:// URL, got "${url}"`);
  if (!/^[a-z_][a-z0-9_]*$/.test(schema)) throw new KestrelError('E_USAGE', `queue schema must be a lower-case SQL identifier, got "${schema}"`);
  // No cron or maintenance supervision: trials are few and long; the coordinator waits on its own jobs.
  const boss = new PgBoss({ connectionString: url, schema, schedule: false, supervise: false, max: 2 });
  boss.on('error', (err: Error) => logger.warn({ err: err.message }, 'job queue error'));
  try {
    await boss.start();
  } catch (err) {
    throw new KestrelError('E_QUEUE_UNAVAILABLE', `cannot open the job queue at ${redactUrl(url)}: ${(err as Error).message}`);
  }
  return boss;
}

export class QueueRunner implements TrialRunner {
  private stopped = false;

  private constructor(private readonly boss: PgBoss, private readonly o: Required<Omit<QueueOptions, 'url' | 'schema'>>) {}

  static async open(o: QueueOptions): Promise<QueueRunner> {
    const boss = await startBoss(o.url, o.schema ?? 'kestrel_tune', o.logger);
    return new QueueRunner(boss, { logger: o.logger, work: o.work ?? true, trialTimeoutMinutes: o.trialTimeoutMinutes ?? 240, pollMs: o.pollMs ?? 1000 });
  }

  async run(specs: readonly TrialSpec[], onResult: (r: TrialResult) => void): Promise<TrialResult[]> {
    if (specs.length === 0) return [];
    const queue = QUEUE_PREFIX + specs[0].search;
    // Retries cover a worker that died (its job expired); a trial that throws is recorded as failed
    // by the worker itself (complete with an error), so it is not retried on every machine.
    await this.boss.createQueue(queue, { name: queue, retryLimit: 2, expireInSeconds: Math.round(this.o.trialTimeoutMinutes * 60) });
    const ids = new Map<string, TrialSpec>();
    for (const spec of specs) {
      const id = await this.boss.send(queue, spec as unknown as object);
      if (!id) throw new KestrelError('E_QUEUE', `the job queue refused trial ${spec.index}`);
      ids.set(id, spec);
    }
    this.o.logger.info({ queue, trials: specs.length }, 'trials queued; `kestrel tune worker --queue <url>` on other machines shares them');
    const results = new Map<string, TrialResult>();
    const collect = async (): Promise<void> => {
      for (const [id, spec] of ids) {
        if (results.has(id)) continue;
        const job = await this.boss.getJobById<TrialSpec>(queue, id);
        if (!job) continue;
        let r: TrialResult | undefined;
        if (job.state === 'completed') r = job.output as unknown as TrialResult;
        else if (job.state === 'failed' || job.state === 'cancelled') r = failedTrial(spec, `job ${job.state}: ${JSON.stringify(job.output ?? null)}`, 'queue');
        if (r) {
          results.set(id, r);
          onResult(r);
        }
      }
    };
    while (results.size < ids.size && !this.stopped) {
      const worked = this.o.work ? await workOne(this.boss, queue, this.o.logger) : false;
      await collect();
      if (!worked && results.size < ids.size) await sleep(this.o.pollMs);
    }
    return [...results.values()];
  }

  async close(): Promise<void> {
    this.stopped = true;
    await this.boss.stop({ graceful: false, wait: true });
  }
}

/** Takes one trial from the queue and runs it; false when the queue had none. */
export async function workOne(boss: PgBoss, queue: string, logger: Logger): Promise<boolean> {
  const [job] = await boss.fetch<TrialSpec>(queue, { batchSize: 1 });
  if (!job) return false;
  logger.info({ queue, trial: job.data.index, params: job.data.params }, 'trial started');
  const r = await runTrialOrFail(job.data, logger);
  await boss.complete(queue, job.id, r as unknown as object);
  return true;
}

/**
 * `kestrel tune worker`: runs trials of every open search on the queue (or of one search) until
 * stopped, or, with `idleExitMs`, until the queue has been empty that long.
 */
export async function runWorker(o: { url: string; schema?: string; search?: string; logger: Logger; idleExitMs?: number; pollMs?: number; signal?: AbortSignal }): Promise<{ trials: number }> {
  const boss = await startBoss(o.url, o.schema ?? 'kestrel_tune', o.logger);
  let trials = 0;
  let idleSince = Date.now();
  try {
    while (!o.signal?.aborted) {
      const queues = o.search ? [QUEUE_PREFIX + o.search] : (await boss.getQueues()).map((q: { name: string }) => q.name).filter((n: string) => n.startsWith(QUEUE_PREFIX));
      let worked = false;
      for (const queue of queues) {
        if (await workOne(boss, queue, o.logger)) {
          worked = true;
          trials++;
          break;
        }
      }
      if (worked) idleSince = Date.now();
      else if (o.idleExitMs !== undefined && Date.now() - idleSince >= o.idleExitMs) break;
      else await sleep(o.pollMs ?? 2000, undefined, { signal: o.signal }).catch(() => undefined);
    }
  } finally {
    await boss.stop({ graceful: false, wait: true });
  }
  return { trials };
}

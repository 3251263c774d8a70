import { dirname } from 'node:path';
import { isKestrelError, type Logger } from '@kestrel/core';
import type { AgentConfig } from '@kestrel/config';
import { folderProblem } from '../util/preflight.js';
import { Outbox, type OutboxLimits } from './outbox.js';

/**
 * The event outbox on disk. When its folder cannot be written (a read-only or full SD card, wrong
 * ownership) the agent keeps detecting with the outbox in memory and says why (`problem`, which
 * goes into `degraded`): exiting would leave the site blind, and a restart would not fix the
 * disk. Nothing is lost while the process lives; what is still queued when it stops is.
 */
export function openOutbox(config: AgentConfig['outbox'], logger: Logger): { outbox: Outbox; problem?: string } {
  const limits: OutboxLimits = { maxEvents: config.maxEvents, maxBytes: config.maxBytes, maxAgeMs: config.maxAgeHours * 3600_000 };
  const outbox = new Outbox(config.path, limits, logger);
  try {
    outbox.open();
    return { outbox };
  } catch (err) {
    if (!isKestrelError(err) || err.code !== 'E_STATE_DIR') throw err;
    const why = folderProblem(dirname(config.path)) ?? (err as Error).message;
    logger.error({ path: config.path, problem: why }, 'cannot keep events on disk; using an in-memory outbox');
    const memory = new Outbox(':memory:', limits, logger);
    memory.open();
    return {
      outbox: memory,
      problem: `state dir ${dirname(config.path)} ${why}: events are queued in memory only and are lost if the agent stops before the broker takes them`,
    };
  }
}

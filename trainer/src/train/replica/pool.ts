// The trainer's side of data-parallel training: starts the replica threads, hands each its share
// of a step, and collects the gradients. Started and stopped by the training loop that owns it.
import type { Worker } from 'node:worker_threads';
import { KestrelError } from '@kestrel/core/util/errors';
import { siblingModuleUrl, startModuleWorker } from '@kestrel/core/util/worker';
import type { AugmentOptions } from '../../data/augment/pipeline.js';
import type { BatchShare } from '../../data/loader.js';
import type { StepLosses } from '../step.js';
import type { ReplicaRequest, ReplicaResponse, ReplicaSetup } from './protocol.js';

export interface ReplicaGradients {
  grads: Float32Array[];
  losses: StepLosses;
  images: number;
}

interface Pending {
  resolve: (g: ReplicaGradients) => void;
  reject: (err: Error) => void;
}

export class ReplicaPool {
  private readonly workers: Worker[] = [];
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private failure?: Error;
  private stopping = false;

  private constructor() {}

  /** Starts `count` replicas and waits until each has its backend, network and data. */
  static async start(count: number, setup: ReplicaSetup): Promise<ReplicaPool> {
    const pool = new ReplicaPool();
    try {
      await Promise.all(Array.from({ length: count }, (_, k) => pool.spawn(k, setup)));
    } catch (err) {
      await pool.stop();
      throw err;
    }
    return pool;
  }

  get size(): number {
    return this.workers.length;
  }

  /** Replica k computes `shares[k]` of step `step` with `weights`; resolves with every replica's answer. */
  gradients(epoch: number, step: number, augment: AugmentOptions, shares: readonly BatchShare[], weights: Float32Array[]): Promise<ReplicaGradients[]> {
    if (this.failure) return Promise.reject(this.failure);
    return Promise.all(shares.map((share, k) => new Promise<ReplicaGradients>((resolve, reject) => {
      const id = this.nextId++;
      this.pending.set(id, { resolve, reject });
      this.workers[k].postMessage({ type: 'step', id, epoch, step, augment, share, weights } satisfies ReplicaRequest);
    })));
  }

  async stop(): Promise<void> {
    this.stopping = true;
    await Promise.all(this.workers.map((w) => w.terminate()));
    this.workers.length = 0;
    this.fail(new KestrelError('E_TRAIN_REPLICA', 'training replicas stopped'));
  }

  private spawn(k: number, setup: ReplicaSetup): Promise<void> {
    const worker = startModuleWorker(siblingModuleUrl(import.meta.url, 'worker'), { name: `kestrel-train-replica-${k + 1}` });
    this.workers.push(worker);
    return new Promise<void>((ready, failed) => {
      worker.on('message', (msg: ReplicaResponse) => {
        if (msg.type === 'ready') return ready();
        if (msg.type === 'error' && msg.id === undefined) return failed(new KestrelError('E_TRAIN_REPLICA', `training replica ${k + 1} could not start: ${msg.message}`));
        const waiting = this.pending.get(msg.id!);
        if (!waiting) return;
        this.pending.delete(msg.id!);
        if (msg.type === 'error') waiting.reject(new KestrelError('E_TRAIN_REPLICA', `training replica ${k + 1} failed: ${msg.message}`));
        else waiting.resolve({ grads: msg.grads, losses: msg.losses, images: msg.images });
      });
      const lost = (why: string): void => {
        if (this.stopping) return;
        const err = new KestrelError('E_TRAIN_REPLICA', `training replica ${k + 1} ${why}`);
        failed(err);
        this.fail(err);
      };
      worker.on('error', (err) => lost(`crashed: ${err.message}`));
      worker.on('exit', (code) => lost(`exited with code ${code}`));
      worker.postMessage({ type: 'setup', setup } satisfies ReplicaRequest);
    });
  }

  private fail(err: Error): void {
    this.failure ??= err;
    for (const p of this.pending.values()) p.reject(err);
    this.pending.clear();
  }
}

/** Splits a batch of `images` into `parts` shares as equal as possible (the first ones larger). */
export function splitShares(images: number, parts: number): BatchShare[] {
  const shares: BatchShare[] = [];
  let from = 0;
  for (let k = 0; k < parts; k++) {
    const n = Math.floor(images / parts) + (k < images % parts ? 1 : 0);
    shares.push({ from, to: from + n });
    from += n;
  }
  return shares;
}

// One training step over the whole batch, computed by the trainer's own thread and, when there
// are replicas, by them in parallel: each computes its share's gradients with the same weights,
// the shares' gradients are averaged (weighted by images) and the trainer applies one update.
// Each share's BatchNorm sees only its own images, as in DistributedDataParallel without SyncBN.
import * as tf from '@tensorflow/tfjs';
import type { AugmentOptions } from '../data/augment/pipeline.js';
import type { TrainBatches } from '../data/loader.js';
import type { StepLosses, TrainStep } from './step.js';
import { splitShares, type ReplicaPool } from './replica/pool.js';

export class DataParallelStep {
  constructor(
    private readonly step: TrainStep,
    private readonly batches: TrainBatches,
    private readonly replicas?: ReplicaPool,
  ) {}

  /** Threads computing each step (this one included). */
  get threads(): number {
    return 1 + (this.replicas?.size ?? 0);
  }

  async run(epoch: number, stepIndex: number, augment: AugmentOptions, learningRate: number): Promise<StepLosses> {
    if (!this.replicas || this.replicas.size === 0) return this.step.run(await this.batches.batch(epoch, stepIndex, augment), learningRate);
    const [own, ...theirs] = splitShares(this.batches.batchSize, this.threads);
    const weights = this.step.variables().map((v) => v.dataSync() as Float32Array);
    const remote = this.replicas.gradients(epoch, stepIndex, augment, theirs, weights);
    // If our own share throws, the replicas' answer must still be awaited (or its rejection caught).
    remote.catch(() => undefined);
    const local = this.step.gradients(await this.batches.batch(epoch, stepIndex, augment, own));
    let others;
    try {
      others = await remote;
    } catch (err) {
      tf.dispose(local.grads);
      throw err;
    }
    const images = local.images + others.reduce((n, o) => n + o.images, 0);
    const averaged = tf.tidy(() => local.grads.map((g, i) => {
      let sum = tf.mul(g, local.images);
      for (const o of others) sum = tf.add(sum, tf.mul(tf.tensor(o.grads[i], g.shape), o.images));
      return tf.div(sum, images);
    }));
    this.step.apply(averaged, learningRate);
    tf.dispose([...averaged, ...local.grads]);
    const weighted = (pick: (l: StepLosses) => number): number => (pick(local.losses) * local.images + others.reduce((s, o) => s + pick(o.losses) * o.images, 0)) / images;
    return {
      total: weighted((l) => l.total),
      cls: weighted((l) => l.cls),
      box: weighted((l) => l.box),
      dfl: weighted((l) => l.dfl),
      positives: local.losses.positives + others.reduce((n, o) => n + o.losses.positives, 0),
    };
  }
}

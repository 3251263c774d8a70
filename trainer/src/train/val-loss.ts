// The validation split's loss each epoch (Ultralytics' val/box_loss, val/cls_loss, val/dfl_loss):
// the training loss function on the validation images without augmentation, no gradients, so a
// run shows whether the loss it minimises also falls on images it does not learn from.
import * as tf from '@tensorflow/tfjs';
import { anchorPoints, forward, type KestrelModel } from '../model/build.js';
import { anchorSet, type AnchorSet } from '../model/assign.js';
import { buildTargets, detectionLoss } from '../model/loss.js';
import { NO_AUGMENT } from '../data/augment/pipeline.js';
import { SampleCache, TrainBatches } from '../data/loader.js';
import type { DatasetItem } from '../data/types.js';

export interface LossMeans {
  total: number;
  cls: number;
  box: number;
  dfl: number;
}

export class ValidationLoss {
  private readonly anchors: AnchorSet;
  private readonly points: tf.Tensor2D;
  private readonly batches: TrainBatches | undefined;

  constructor(
    private readonly model: KestrelModel,
    items: readonly DatasetItem[],
    private readonly classWeights: readonly number[],
    private readonly temperature: number,
    batch: number,
  ) {
    const { points, strides } = anchorPoints(model.config);
    this.anchors = anchorSet(points, strides);
    this.points = tf.keep(tf.tensor2d(points, [strides.length, 2]));
    const size = model.config.inputWidth;
    // Letterboxed at the deploy size (as the mAP is measured), decoded once and kept; batches of
    // at most `batch`, a last partial batch left out as in training.
    this.batches = items.length === 0 ? undefined : new TrainBatches(items, new SampleCache(size), { size, batch: Math.min(batch, items.length), augment: NO_AUGMENT, seed: 0 });
  }

  /** Mean loss over the validation images with the model's current weights (NaN without any). */
  async compute(): Promise<LossMeans> {
    if (!this.batches) return { total: NaN, cls: NaN, box: NaN, dfl: NaN };
    const sum = { total: 0, cls: 0, box: 0, dfl: 0 };
    let images = 0;
    const C = this.model.config.labels.length;
    for await (const batch of this.batches.epoch(0)) {
      const targets = buildTargets(this.anchors, batch.boxes.map((boxes) => ({ boxes })), this.classWeights, this.model.config.boxBins);
      const parts = tf.tidy(() => {
        const x = tf.tensor4d(batch.images, [batch.count, batch.size, batch.size, 3]);
        const loss = detectionLoss(forward(this.model, x, false), targets, this.points, C, this.temperature);
        return [loss.total, loss.cls, loss.box, loss.dfl];
      });
      const [total, cls, box, dfl] = parts.map((t) => t.dataSync()[0]);
      tf.dispose(parts);
      // Batch means weighted by their images: the same as one pass over the split.
      sum.total += total * batch.count;
      sum.cls += cls * batch.count;
      sum.box += box * batch.count;
      sum.dfl += dfl * batch.count;
      images += batch.count;
    }
    return { total: sum.total / images, cls: sum.cls / images, box: sum.box / images, dfl: sum.dfl / images };
  }

  dispose(): void {
    this.points.dispose();
  }
}

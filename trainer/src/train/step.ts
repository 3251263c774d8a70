// One optimisation step: targets from the assignment (CPU), forward and loss (TF.js), gradients,
// Adam update. Returns plain numbers; every tensor made here is disposed here.
import * as tf from '@tensorflow/tfjs';
import { anchorPoints, forward, type KestrelModel } from '../model/build.js';
import { anchorSet, type AnchorSet } from '../model/assign.js';
import { buildTargets, detectionLoss } from '../model/loss.js';
import type { TrainBatch } from '../data/loader.js';

export interface StepLosses {
  total: number;
  cls: number;
  box: number;
  /** Distribution focal loss (0 without box bins). */
  dfl: number;
  positives: number;
}

export interface StepGradients {
  /** One gradient per trainable variable, in TrainStep.variables() order. */
  grads: tf.Tensor[];
  losses: StepLosses;
  images: number;
}

export class TrainStep {
  private readonly anchors: AnchorSet;
  private readonly points: tf.Tensor2D;

  constructor(
    private readonly model: KestrelModel,
    readonly optimizer: tf.AdamOptimizer,
    private readonly classWeights: readonly number[],
    /** Distillation temperature for soft labels (1 = plain training). */
    private readonly temperature = 1,
  ) {
    const { points, strides } = anchorPoints(model.config);
    this.anchors = anchorSet(points, strides);
    this.points = tf.keep(tf.tensor2d(points, [strides.length, 2]));
  }

  run(batch: TrainBatch, learningRate: number): StepLosses {
    const { grads, losses } = this.gradients(batch);
    this.apply(grads, learningRate);
    tf.dispose(grads);
    return losses;
  }

  /** Loss and gradients of one batch (or one replica's share of it), in variables() order. */
  gradients(batch: TrainBatch): StepGradients {
    const targets = buildTargets(this.anchors, batch.boxes.map((boxes) => ({ boxes })), this.classWeights, this.model.config.boxBins);
    const C = this.model.config.labels.length;
    let parts: { cls: tf.Scalar; box: tf.Scalar; dfl: tf.Scalar } | undefined;
    const x = tf.tensor4d(batch.images, [batch.count, batch.size, batch.size, 3]);
    const vars = this.variables();
    const { value, grads } = tf.variableGrads(() => {
      const loss = detectionLoss(forward(this.model, x, true), targets, this.points, C, this.temperature);
      parts = { cls: tf.keep(loss.cls), box: tf.keep(loss.box), dfl: tf.keep(loss.dfl) };
      return loss.total;
    }, vars);
    const losses = { total: value.dataSync()[0], cls: parts!.cls.dataSync()[0], box: parts!.box.dataSync()[0], dfl: parts!.dfl.dataSync()[0], positives: targets.positives };
    tf.dispose([x, value, parts!.cls, parts!.box, parts!.dfl]);
    return { grads: vars.map((v) => grads[v.name]), losses, images: batch.count };
  }

  /** One Adam update with `grads` (in variables() order); the caller keeps ownership of them. */
  apply(grads: readonly tf.Tensor[], learningRate: number): void {
    (this.optimizer as unknown as { learningRate: number }).learningRate = learningRate;
    const vars = this.variables();
    this.optimizer.applyGradients(Object.fromEntries(vars.map((v, i) => [v.name, grads[i]])) as never);
  }

  /**
   * The model's trainable variables in a fixed order. Adam keeps its moments by the position of
   * each gradient in the map it is given, so every step (and a resumed run) must use one order.
   */
  variables(): tf.Variable[] {
    return this.model.net.trainableWeights.map((w) => (w as unknown as { val: tf.Variable }).val);
  }

  /** Puts saved Adam moments back (--resume); false when they do not fit this model. */
  async restoreOptimizer(saved: Array<{ name: string; tensor: tf.Tensor }>): Promise<boolean> {
    // Adam creates its slots lazily: one zero-learning-rate step in the training order makes them.
    const vars = this.variables();
    const zeros = Object.fromEntries(vars.map((v) => [v.name, tf.zerosLike(v)]));
    const opt = this.optimizer as unknown as { learningRate: number };
    const lr = opt.learningRate;
    opt.learningRate = 0;
    this.optimizer.applyGradients(zeros as never);
    opt.learningRate = lr;
    tf.dispose(Object.values(zeros));
    const current = await this.optimizer.getWeights();
    const fits = current.length === saved.length && current.every((c, i) => tf.util.arraysEqual(c.tensor.shape, saved[i].tensor.shape));
    if (fits) await this.optimizer.setWeights(saved.map((s, i) => ({ name: current[i].name, tensor: s.tensor })));
    return fits;
  }

  dispose(): void {
    this.points.dispose();
  }
}

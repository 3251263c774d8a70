// The detector's training loss: Quality Focal Loss for classes (the target of a positive point is
// the IoU its predicted box reaches, so scores rank boxes by quality, as in NanoDet/GFL), GIoU
// for boxes and, when box sides are distributions, Distribution Focal Loss (GFL again: the two
// bins around each true distance are pushed up in proportion to their closeness), all weighted
// per class so rare classes count as much as common ones.
import * as tf from '@tensorflow/tfjs';
import type { Box } from '@kestrel/core/detect/types';
import { assignAtss, type AnchorSet } from './assign.js';
import type { HeadOutputs } from './build.js';

export interface ImageTargets {
  /** Objects in input pixels; `score` is a teacher's confidence (distillation), else 1. */
  boxes: Array<{ classId: number; box: Box; score?: number }>;
}

/** Dense per-point targets for a batch, built on the CPU from the assignment. */
export interface BatchTargets {
  /** [B, N] class of the assigned object, -1 background. */
  labels: Int32Array;
  /** [B, N, 4] assigned object's box x1, y1, x2, y2 (zeros for background). */
  boxes: Float32Array;
  /** [B, N] class weight of the assigned object, 0 for background. */
  weights: Float32Array;
  /** [B, N] the assigned object's score: 1 for labels, the teacher's confidence when distilling. */
  scores: Float32Array;
  /**
   * [B, N, 4, bins] per side of a positive, the two-bin target of distribution focal loss:
   * distance d strides → bin ⌊d⌋ gets ⌊d⌋+1−d, bin ⌊d⌋+1 gets d−⌊d⌋ (their mean is d). Only
   * when the detector has box bins.
   */
  sideTargets?: Float32Array;
  positives: number;
}

export function buildTargets(anchors: AnchorSet, batch: readonly ImageTargets[], classWeights: readonly number[], boxBins = 0): BatchTargets {
  const n = anchors.strides.length;
  const labels = new Int32Array(batch.length * n).fill(-1);
  const boxes = new Float32Array(batch.length * n * 4);
  const weights = new Float32Array(batch.length * n);
  const scores = new Float32Array(batch.length * n);
  const sideTargets = boxBins > 0 ? new Float32Array(batch.length * n * 4 * boxBins) : undefined;
  let positives = 0;
  batch.forEach((img, b) => {
    const { gtIndex } = assignAtss(anchors, img.boxes.map((o) => o.box));
    for (let i = 0; i < n; i++) {
      const g = gtIndex[i];
      if (g < 0) continue;
      const o = img.boxes[g];
      const k = b * n + i;
      labels[k] = o.classId;
      boxes.set(o.box, k * 4);
      weights[k] = classWeights[o.classId] ?? 1;
      scores[k] = o.score ?? 1;
      if (sideTargets) setSideTargets(sideTargets, k, boxBins, anchors.points[2 * i], anchors.points[2 * i + 1], anchors.strides[i], o.box);
      positives++;
    }
  });
  return { labels, boxes, weights, scores, positives, ...(sideTargets ? { sideTargets } : {}) };
}

/**
 * The two-bin targets of point `k`'s four sides. A distance beyond the last bin is held just
 * inside it (the most the head can say), and a point outside its box (ATSS's fallback for a tiny
 * object between grid points) aims at 0 on that side.
 */
function setSideTargets(out: Float32Array, k: number, bins: number, px: number, py: number, stride: number, box: Box): void {
  const sides = [px - box[0], py - box[1], box[2] - px, box[3] - py];
  for (let s = 0; s < 4; s++) {
    const d = Math.min(Math.max(sides[s] / stride, 0), bins - 1 - 1e-3);
    const left = Math.floor(d);
    const base = (k * 4 + s) * bins;
    out[base + left] = left + 1 - d;
    out[base + left + 1] = d - left;
  }
}

export interface LossParts {
  total: tf.Scalar;
  cls: tf.Scalar;
  box: tf.Scalar;
  /** Distribution focal loss, unweighted (0 when box sides are single values). */
  dfl: tf.Scalar;
}

export const BOX_LOSS_WEIGHT = 2;
/** NanoDet's weight for distribution focal loss beside GIoU at 2. */
export const DFL_LOSS_WEIGHT = 0.25;
/** QFL's focusing exponent on |target − score|. */
export const QFL_BETA = 2;

/**
 * Loss of one batch. `points` is [N, 2]. The IoU used as the class target is computed from the
 * current prediction but not differentiated through (it is a target, not a prediction).
 */
export function detectionLoss(out: HeadOutputs, targets: BatchTargets, points: tf.Tensor2D, numClasses: number, temperature = 1): LossParts {
  return tf.tidy(() => {
    const [B, N] = out.logits.shape;
    // Background points get class 0 here; their row of the one-hot is zeroed by `pos` below.
    const classIndex = tf.tensor1d(targets.labels.map((l) => Math.max(l, 0)), 'int32');
    const gt = tf.tensor3d(targets.boxes, [B, N, 4]);
    const weight = tf.tensor2d(targets.weights, [B, N]);
    const pos = tf.cast(tf.greater(weight, 0), 'float32');
    const numPos = tf.maximum(tf.sum(pos), 1);

    const pred = distancesToBoxes(out.distances, points);
    const { iou, giou } = iouAndGiou(pred, gt);
    // Soft labels (distillation): the teacher's score, softened by the temperature like the
    // student's logits below, so the student matches the teacher's logit, not just its ranking.
    const soft = temperature === 1 ? tf.tensor2d(targets.scores, [B, N]) : softenScores(tf.tensor2d(targets.scores, [B, N]), temperature);
    const quality = tf.mul(tf.mul(stopGradient(tf.maximum(iou, 0)), soft), pos); // [B,N]

    // QFL: BCE(logit, soft target) × |target − σ(logit)|^β, summed, over the positive count.
    const onehot = tf.oneHot(classIndex, numClasses).reshape([B, N, numClasses]);
    const target = tf.mul(tf.cast(onehot, 'float32'), tf.expandDims(quality, 2)); // quality is 0 off the positives
    const logits = temperature === 1 ? out.logits : tf.div(out.logits, temperature);
    const bce = tf.sub(tf.softplus(logits), tf.mul(logits, target));
    const modulator = tf.pow(tf.abs(tf.sub(target, tf.sigmoid(logits))), QFL_BETA);
    // Positives weigh by their class weight; background points by 1.
    const rowWeight = tf.expandDims(tf.add(weight, tf.sub(1, pos)), 2);
    // × T² keeps the gradient scale independent of the temperature (Hinton et al.).
    const cls = tf.mul(tf.div(tf.sum(tf.mul(tf.mul(bce, modulator), rowWeight)), numPos), temperature * temperature) as tf.Scalar;

    const weightSum = tf.maximum(tf.sum(weight), 1e-6);
    const box = tf.div(tf.sum(tf.mul(tf.sub(1, giou), weight)), weightSum) as tf.Scalar;
    const dfl = out.sideLogits && targets.sideTargets ? distributionFocalLoss(out.sideLogits, targets.sideTargets, weight, weightSum) : tf.scalar(0);
    const total = tf.addN([cls, tf.mul(box, BOX_LOSS_WEIGHT), tf.mul(dfl, DFL_LOSS_WEIGHT)]) as tf.Scalar;
    return { total, cls, box, dfl };
  });
}

/**
 * DFL: cross-entropy of each side's bin distribution against its two-bin target, averaged over
 * the four sides of every positive, weighted per class. Background rows have all-zero targets and
 * add nothing.
 */
export function distributionFocalLoss(sideLogits: tf.Tensor4D, sideTargets: Float32Array, weight: tf.Tensor2D, weightSum: tf.Tensor): tf.Scalar {
  const target = tf.tensor4d(sideTargets, sideLogits.shape);
  const perSide = tf.neg(tf.sum(tf.mul(target, tf.logSoftmax(sideLogits)), 3)); // [B,N,4]
  const perPoint = tf.mean(perSide, 2); // [B,N]
  return tf.div(tf.sum(tf.mul(perPoint, weight)), weightSum) as tf.Scalar;
}

/** σ(logit(s) / T): a probability softened (T > 1) the way logits are divided by T. */
function softenScores(s: tf.Tensor2D, temperature: number): tf.Tensor2D {
  const p = tf.clipByValue(s, 1e-4, 1 - 1e-4);
  return tf.sigmoid(tf.div(tf.log(tf.div(p, tf.sub(1, p))), temperature)) as tf.Tensor2D;
}

/** The value of `x`, with no gradient flowing back through it (tfjs has no such op). */
export const stopGradient = tf.customGrad(((x: tf.Tensor) => ({ value: tf.clone(x), gradFunc: (dy: tf.Tensor) => tf.zerosLike(dy) })) as never) as (x: tf.Tensor) => tf.Tensor;

/** distances [B,N,4] (l,t,r,b) + points [N,2] → boxes [B,N,4] (x1,y1,x2,y2). */
export function distancesToBoxes(distances: tf.Tensor3D, points: tf.Tensor2D): tf.Tensor3D {
  const [l, t, r, b] = tf.split(distances, 4, 2);
  const px = points.slice([0, 0], [-1, 1]).expandDims(0);
  const py = points.slice([0, 1], [-1, 1]).expandDims(0);
  return tf.concat([tf.sub(px, l), tf.sub(py, t), tf.add(px, r), tf.add(py, b)], 2) as tf.Tensor3D;
}

function iouAndGiou(a: tf.Tensor3D, b: tf.Tensor3D): { iou: tf.Tensor2D; giou: tf.Tensor2D } {
  const [ax1, ay1, ax2, ay2] = tf.split(a, 4, 2).map((t) => t.squeeze([2]));
  const [bx1, by1, bx2, by2] = tf.split(b, 4, 2).map((t) => t.squeeze([2]));
  const areaA = tf.mul(tf.relu(tf.sub(ax2, ax1)), tf.relu(tf.sub(ay2, ay1)));
  const areaB = tf.mul(tf.relu(tf.sub(bx2, bx1)), tf.relu(tf.sub(by2, by1)));
  const iw = tf.relu(tf.sub(tf.minimum(ax2, bx2), tf.maximum(ax1, bx1)));
  const ih = tf.relu(tf.sub(tf.minimum(ay2, by2), tf.maximum(ay1, by1)));
  const inter = tf.mul(iw, ih);
  const union = tf.add(tf.sub(tf.add(areaA, areaB), inter), 1e-6);
  const iou = tf.div(inter, union) as tf.Tensor2D;
  const cw = tf.sub(tf.maximum(ax2, bx2), tf.minimum(ax1, bx1));
  const ch = tf.sub(tf.maximum(ay2, by2), tf.minimum(ay1, by1));
  const hull = tf.add(tf.mul(cw, ch), 1e-6);
  const giou = tf.sub(iou, tf.div(tf.sub(hull, union), hull)) as tf.Tensor2D;
  return { iou, giou };
}

/**
 * Class weights from box counts: (mean count / count)^0.5, clipped to [0.25, 4], so a class
 * with 10× fewer boxes weighs about 3× more — enough to be heard, not enough to destabilise.
 */
export function classBalancedWeights(counts: readonly number[]): number[] {
  const present = counts.filter((c) => c > 0);
  if (present.length === 0) return counts.map(() => 1);
  const mean = present.reduce((a, b) => a + b, 0) / present.length;
  return counts.map((c) => (c > 0 ? Math.min(4, Math.max(0.25, Math.sqrt(mean / c))) : 1));
}

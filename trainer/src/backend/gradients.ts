// Gradient functions the project replaces for speed, the same mathematics as tfjs-core's own.
// tfjs-core's FusedBatchNorm gradient tiles 1/sqrt(var) to the full activation shape before one
// multiply; on wasm that Tile was ~4 s of a 10 s detector step. Broadcasting does the same job.
import * as tf from '@tensorflow/tfjs';

type Saved = tf.Tensor[];

const fusedBatchNormGrad: tf.GradConfig = {
  kernelName: 'FusedBatchNorm',
  inputsToSave: ['x', 'mean', 'variance', 'scale'],
  gradFunc: (dy: tf.Tensor | tf.Tensor[], saved: Saved, attrs: tf.NamedAttrMap) => {
    const g = dy as tf.Tensor;
    const epsilon = attrs.varianceEpsilon as number;
    const [x, mean, variance, scale] = saved;
    const scaleValue = scale == null ? tf.scalar(1) : scale;
    const axes = tf.backend_util.getReductionAxes(mean.shape, x.shape);
    const perChannel = mean.rank === 1;
    const xMinusMean = tf.sub(x, mean);
    const dyTimesScale = tf.mul(g, scaleValue);
    const invStd = tf.rsqrt(tf.add(variance, tf.scalar(epsilon)));
    const minusHalfInvStd3 = tf.mul(tf.mul(tf.mul(invStd, invStd), invStd), tf.scalar(-0.5));
    const reduce = (t: tf.Tensor): tf.Tensor => tf.reshape(perChannel ? tf.sum(t, axes) : t, mean.shape);
    return {
      // One broadcast multiply by the per-channel factor instead of tiling it to x's shape.
      x: () => tf.mul(g, tf.mul(invStd, scaleValue)),
      mean: () => reduce(tf.mul(tf.neg(invStd), dyTimesScale)),
      variance: () => reduce(tf.mul(tf.mul(minusHalfInvStd3, xMinusMean), dyTimesScale)),
      scale: () => reduce(tf.mul(g, tf.mul(xMinusMean, invStd))),
      offset: () => reduce(g),
    };
  },
};

let registered = false;

/** Replaces the gradients above for every backend (their numbers are the same). Idempotent. */
export function registerFastGradients(): void {
  if (registered) return;
  tf.registerGradient(fusedBatchNormGrad);
  registered = true;
}

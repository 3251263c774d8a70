// BatchNorm for training with a hand-written gradient. tf.layers' BatchNormalization trains
// through tf.moments and the generic batchNorm gradient: hundreds of small kernels a step and a
// quarter of the detector's training time on wasm. The closed form below needs two per-channel
// reductions and four elementwise passes. It serialises as a plain 'BatchNormalization' (same
// class name, config and weights), so checkpoints stay standard TF.js LayersModels; inference
// uses the inherited code unchanged.
import * as tf from '@tensorflow/tfjs';

interface BatchNormInternals {
  gamma: tf.LayerVariable;
  beta: tf.LayerVariable;
  movingMean: tf.LayerVariable;
  movingVariance: tf.LayerVariable;
  momentum: number;
  epsilon: number;
}

type LayerCall = (inputs: tf.Tensor | tf.Tensor[], kwargs: Record<string, unknown>) => tf.Tensor | tf.Tensor[];
type BatchNormClass = new (args: tf.serialization.ConfigDict) => tf.layers.Layer;

const BaseBatchNorm = tf.layers.batchNormalization({}).constructor as unknown as BatchNormClass;

/**
 * y = (x − μ)·γ/σ + β over the batch and spatial axes (NHWC, channels last).
 * dx = γ/σ · (dy − mean(dy) − x̂·mean(dy·x̂)), dγ = Σ dy·x̂, dβ = Σ dy.
 * Returns y; the batch statistics are passed to `stats` for the running averages.
 */
export function batchNormTraining(x: tf.Tensor, gamma: tf.Tensor, beta: tf.Tensor, epsilon: number, stats: (mean: tf.Tensor, variance: tf.Tensor) => void): tf.Tensor {
  const axes = x.shape.slice(0, -1).map((_, i) => i);
  const count = x.size / x.shape[x.shape.length - 1];
  const op = tf.customGrad(((xi: tf.Tensor, g: tf.Tensor, b: tf.Tensor, save: tf.GradSaveFunc) => {
    const mean = tf.mean(xi, axes);
    const centred = tf.sub(xi, mean);
    const variance = tf.mean(tf.square(centred), axes);
    const invStd = tf.rsqrt(tf.add(variance, epsilon));
    stats(mean, variance);
    save([centred, invStd, g]);
    return {
      value: tf.add(tf.mul(centred, tf.mul(g, invStd)), b),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [c, inv, gam] = saved;
        const sumDy = tf.sum(dy, axes);
        const sumDyC = tf.sum(tf.mul(dy, c), axes);
        const scale = tf.mul(gam, inv);
        const dx = tf.sub(tf.sub(tf.mul(dy, scale), tf.mul(scale, tf.div(sumDy, count))), tf.mul(c, tf.mul(tf.mul(scale, tf.square(inv)), tf.div(sumDyC, count))));
        return [dx, tf.mul(sumDyC, inv), sumDy];
      },
    };
  }) as never) as (a: tf.Tensor, b: tf.Tensor, c: tf.Tensor) => tf.Tensor;
  return op(x, gamma, beta);
}

export class FastBatchNormalization extends BaseBatchNorm {
  static className = 'BatchNormalization';

  override call(inputs: tf.Tensor | tf.Tensor[], kwargs: Record<string, unknown>): tf.Tensor | tf.Tensor[] {
    if (!kwargs.training) return (BaseBatchNorm.prototype as unknown as { call: LayerCall }).call.call(this, inputs, kwargs);
    const self = this as unknown as BatchNormInternals;
    const x = Array.isArray(inputs) ? inputs[0] : inputs;
    return tf.tidy(() =>
      batchNormTraining(x, self.gamma.read(), self.beta.read(), self.epsilon, (mean, variance) => {
        tf.tidy(() => {
          const decay = 1 - self.momentum;
          for (const [v, batch] of [[self.movingMean, mean], [self.movingVariance, variance]] as const) {
            const current = v.read();
            v.write(tf.sub(current, tf.mul(tf.sub(current, batch), decay)));
          }
        });
      }),
    );
  }
}

export function fastBatchNormalization(args: { name: string; momentum: number; epsilon: number }): tf.layers.Layer {
  return new FastBatchNormalization(args as unknown as tf.serialization.ConfigDict);
}

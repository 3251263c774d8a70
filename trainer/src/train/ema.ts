// An exponential moving average of the weights (as YOLOv5/NanoDet keep one): on short schedules
// the averaged weights validate markedly better than the last step's. BatchNorm's running
// statistics are copied, not averaged (they are already averages).
import * as tf from '@tensorflow/tfjs';
import type { KestrelModel } from '../model/build.js';

export class WeightEma {
  private readonly shadow: tf.Variable[];
  private updates = 0;

  constructor(
    private readonly model: KestrelModel,
    private readonly maxDecay = 0.998,
    /** Steps over which the decay ramps up (early weights change fast; do not average them long). */
    private readonly rampSteps = 100,
  ) {
    this.shadow = model.net.weights.map((w) => tf.variable(w.read(), false));
  }

  update(): void {
    this.updates++;
    const d = this.maxDecay * (1 - Math.exp(-this.updates / this.rampSteps));
    tf.tidy(() => {
      this.model.net.weights.forEach((w, i) => {
        const current = w.read();
        this.shadow[i].assign(w.trainable ? tf.add(tf.mul(this.shadow[i], d), tf.mul(current, 1 - d)) : current);
      });
    });
  }

  /** Runs `fn` with the averaged weights in the model, then puts the training weights back. */
  async withAveraged<T>(fn: () => Promise<T>): Promise<T> {
    const saved = this.model.net.weights.map((w) => tf.keep(w.read().clone()));
    this.model.net.weights.forEach((w, i) => w.write(this.shadow[i]));
    try {
      return await fn();
    } finally {
      this.model.net.weights.forEach((w, i) => w.write(saved[i]));
      tf.dispose(saved);
    }
  }

  dispose(): void {
    tf.dispose(this.shadow);
  }
}

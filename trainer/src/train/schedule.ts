// Learning rate: linear warm-up from a small fraction, then cosine decay to a floor. Warm-up
// keeps the first steps (BatchNorm statistics still settling, head biases at their prior) from
// throwing the weights somewhere they never come back from.

export interface LrSchedule {
  lr: number;
  totalSteps: number;
  warmupSteps: number;
  /** Final learning rate as a fraction of `lr`. */
  finalFraction: number;
  /** Learning rate at step 0 as a fraction of `lr`. */
  warmupStartFraction: number;
}

export function learningRateAt(s: LrSchedule, step: number): number {
  if (step < s.warmupSteps) {
    const t = step / Math.max(1, s.warmupSteps);
    return s.lr * (s.warmupStartFraction + (1 - s.warmupStartFraction) * t);
  }
  const span = Math.max(1, s.totalSteps - s.warmupSteps);
  const t = Math.min(1, (step - s.warmupSteps) / span);
  return s.lr * (s.finalFraction + (1 - s.finalFraction) * 0.5 * (1 + Math.cos(Math.PI * t)));
}

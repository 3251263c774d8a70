import type { SamplingStrategy, StrategyInput } from '../types.js';

/**
 * A share of a camera's frames while its drift alert is on (drift.boostSampler): the model sees
 * something other than what it was validated on, so those are the frames worth labelling. Off
 * the rest of the time, so a stable camera costs nothing.
 */
export class DriftStrategy implements SamplingStrategy {
  readonly name = 'drift' as const;

  constructor(
    private readonly probability: number,
    private readonly drifted: (camera: string) => boolean,
    private readonly random: () => number = Math.random,
  ) {}

  evaluate(input: StrategyInput): boolean {
    return this.probability > 0 && this.drifted(input.camera) && this.random() < this.probability;
  }
}

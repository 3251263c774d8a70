import type { SamplingStrategy } from '../types.js';

/** A fixed share of all frames: an unbiased look at what the camera sees, misses included. */
export class RandomStrategy implements SamplingStrategy {
  readonly name = 'random' as const;

  constructor(
    private readonly probability: number,
    private readonly random: () => number = Math.random,
  ) {}

  evaluate(): boolean {
    return this.probability > 0 && this.random() < this.probability;
  }
}

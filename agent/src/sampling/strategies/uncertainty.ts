import type { SamplingStrategy, StrategyInput } from '../types.js';

/** Any detection the model is unsure of (score inside [low, high]): where labels teach most. */
export class UncertaintyStrategy implements SamplingStrategy {
  readonly name = 'uncertainty' as const;

  constructor(private readonly band: { low: number; high: number }) {}

  evaluate({ detections }: StrategyInput): boolean {
    return detections.some((d) => d.score >= this.band.low && d.score <= this.band.high);
  }
}

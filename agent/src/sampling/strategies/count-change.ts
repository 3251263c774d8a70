import type { SamplingStrategy, StrategyInput } from '../types.js';

/**
 * The number of objects jumped: this frame's count (score ≥ minScore) differs from the average of
 * the previous `window` frames by at least `minJump`. Crowds forming or objects the model suddenly
 * loses are both worth a look. No decision until the window is full, so start-up is quiet.
 */
export class CountChangeStrategy implements SamplingStrategy {
  readonly name = 'countChange' as const;
  private readonly history: number[];
  private next = 0;
  private filled = 0;
  private sum = 0;

  constructor(private readonly options: { minJump: number; window: number; minScore: number }) {
    this.history = new Array<number>(options.window).fill(0);
  }

  evaluate({ detections }: StrategyInput): boolean {
    const count = detections.reduce((n, d) => (d.score >= this.options.minScore ? n + 1 : n), 0);
    const full = this.filled === this.options.window;
    const jumped = full && Math.abs(count - this.sum / this.options.window) >= this.options.minJump;
    this.sum += count - this.history[this.next];
    this.history[this.next] = count;
    this.next = (this.next + 1) % this.options.window;
    if (!full) this.filled++;
    return jumped;
  }
}

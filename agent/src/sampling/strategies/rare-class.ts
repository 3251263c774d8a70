import type { SamplingStrategy, StrategyInput } from '../types.js';

/** Buckets per window: counts are exact to 1/BUCKETS of the window, and memory stays bounded. */
const BUCKETS = 48;

/**
 * Labels this camera has seen in fewer than `minCount` frames over the last `windowHours`: the
 * classes a model meets too rarely to learn. A label counts once per frame it appears in (with
 * score ≥ minScore), so a crowd of one class does not make it common in one frame.
 */
export class RareClassStrategy implements SamplingStrategy {
  readonly name = 'rareClass' as const;
  private readonly bucketMs: number;
  /** Ring of buckets: which time slot each holds, and per label the frames seen in it. */
  private readonly slots: number[] = new Array<number>(BUCKETS).fill(-1);
  private readonly counts: Map<string, number>[] = Array.from({ length: BUCKETS }, () => new Map());

  constructor(private readonly options: { minCount: number; windowHours: number; minScore: number }) {
    this.bucketMs = (options.windowHours * 3_600_000) / BUCKETS;
  }

  evaluate({ at, detections }: StrategyInput): boolean {
    const labels = new Set(detections.filter((d) => d.score >= this.options.minScore).map((d) => d.label));
    if (labels.size === 0) return false;
    const slot = Math.floor(at / this.bucketMs);
    const rare = [...labels].some((label) => this.seen(label, slot) < this.options.minCount);
    const index = slot % BUCKETS;
    if (this.slots[index] !== slot) {
      this.slots[index] = slot;
      this.counts[index].clear();
    }
    for (const label of labels) this.counts[index].set(label, (this.counts[index].get(label) ?? 0) + 1);
    return rare;
  }

  /** Frames with `label` in the window that ends with time slot `slot`. */
  seen(label: string, slot: number): number {
    let total = 0;
    for (let i = 0; i < BUCKETS; i++) {
      if (this.slots[i] > slot - BUCKETS && this.slots[i] <= slot) total += this.counts[i].get(label) ?? 0;
    }
    return total;
  }
}

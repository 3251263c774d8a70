/**
 * A small seeded generator (mulberry32): the bench's scenes and detector noise must come out the
 * same on every machine and every run, so a figure can be reproduced and two trackers compared on
 * identical input. Math.random cannot be seeded.
 */
export class Random {
  private state: number;

  constructor(seed: number) {
    this.state = seed >>> 0 || 0x9e3779b9;
  }

  /** Uniform in [0, 1). */
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  between(lo: number, hi: number): number {
    return lo + (hi - lo) * this.next();
  }

  /** Normal, mean 0, standard deviation `sd` (Box-Muller). */
  normal(sd = 1): number {
    const u = Math.max(this.next(), 1e-12);
    return sd * Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * this.next());
  }

  pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.next() * items.length)];
  }
}

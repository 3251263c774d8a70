/**
 * How many JPEG decodes run at once, and how many may wait. Each decode holds a frame's pixels
 * (3 bytes a pixel) while libjpeg reads it, so the hub's peak memory for images is about
 * `slots × maxImagePixels × 3`, whatever the number of uploads. Waiters beyond the bound are
 * refused at once (and counted) rather than queued without end.
 */
export class DecodeSlots {
  private running = 0;
  private readonly waiting: (() => void)[] = [];
  /** Decodes refused because every slot was busy and the wait line was full. */
  refused = 0;

  constructor(
    private readonly slots: number,
    private readonly maxWaiting: number,
  ) {
    if (!(slots >= 1) || !(maxWaiting >= 0)) throw new RangeError(`DecodeSlots needs slots >= 1 and maxWaiting >= 0, got ${slots}, ${maxWaiting}`);
  }

  /** Runs `work` in a slot; resolves to undefined (and counts it) when the wait line is full. */
  async run<T>(work: () => Promise<T>): Promise<{ value: T } | undefined> {
    if (this.running >= this.slots) {
      if (this.waiting.length >= this.maxWaiting) {
        this.refused += 1;
        return undefined;
      }
      await new Promise<void>((resolve) => this.waiting.push(resolve));
    } else {
      this.running += 1;
    }
    try {
      return { value: await work() };
    } finally {
      // Hand the slot straight to the next waiter (running stays the same), or free it.
      const next = this.waiting.shift();
      if (next) next();
      else this.running -= 1;
    }
  }

  stats(): { running: number; waiting: number; refused: number } {
    return { running: this.running, waiting: this.waiting.length, refused: this.refused };
  }
}

import { hammingDistance } from './dhash.js';

export interface DedupOptions {
  /** At most this many differing bits make a duplicate. */
  maxDistance: number;
  /** Recent samples remembered per camera. */
  recent: number;
  /** Samples older than this are forgotten. */
  windowMs: number;
}

/**
 * The dHashes of each camera's recent samples. A fixed camera sees the same view all day; without
 * this, a quota would fill with copies of one scene. Bounded: `recent` hashes per camera.
 */
export class RecentHashes {
  private readonly byCamera = new Map<string, { hash: string; at: number }[]>();

  constructor(private readonly options: DedupOptions) {}

  /** The nearest recent hash of this camera within maxDistance, if any. */
  nearDuplicate(camera: string, hash: string, now: number): { hash: string; distance: number } | undefined {
    const list = this.prune(camera, now);
    let best: { hash: string; distance: number } | undefined;
    for (const entry of list) {
      const distance = hammingDistance(hash, entry.hash);
      if (distance <= this.options.maxDistance && (!best || distance < best.distance)) best = { hash: entry.hash, distance };
    }
    return best;
  }

  remember(camera: string, hash: string, now: number): void {
    const list = this.prune(camera, now);
    list.push({ hash, at: now });
    if (list.length > this.options.recent) list.splice(0, list.length - this.options.recent);
  }

  private prune(camera: string, now: number): { hash: string; at: number }[] {
    let list = this.byCamera.get(camera);
    if (!list) {
      list = [];
      this.byCamera.set(camera, list);
    }
    const cutoff = now - this.options.windowMs;
    let stale = 0;
    while (stale < list.length && list[stale].at < cutoff) stale++;
    if (stale) list.splice(0, stale);
    return list;
  }
}

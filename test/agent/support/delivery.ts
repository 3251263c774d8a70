// The delivery check shared by the fault tests: what the agent produced (its own record, in
// order) against what a subscriber received (in arrival order, duplicates allowed).
import type { DetectionEvent } from '@kestrel/core';

export interface DeliveryReport {
  /** Produced but never received. */
  missing: string[];
  /** Received but never produced. */
  unexpected: string[];
  /** First arrivals, de-duplicated by id, are in production order. */
  inOrder: boolean;
  received: number;
  duplicates: number;
  tracks: number;
  /** Tracks whose life is not `new, update..., end` (with `requireEnd`), with what arrived. */
  badLives: string[];
}

export function checkDelivery(produced: string[], received: DetectionEvent[], options: { requireEnd?: boolean } = {}): DeliveryReport {
  const requireEnd = options.requireEnd ?? true;
  const firstArrivals: DetectionEvent[] = [];
  const seen = new Set<string>();
  for (const e of received) {
    if (seen.has(e.id)) continue;
    seen.add(e.id);
    firstArrivals.push(e);
  }
  const producedSet = new Set(produced);
  const missing = produced.filter((id) => !seen.has(id));
  const unexpected = firstArrivals.filter((e) => !producedSet.has(e.id)).map((e) => e.id);
  const order = firstArrivals.map((e) => e.id).filter((id) => producedSet.has(id));
  const expectedOrder = produced.filter((id) => seen.has(id));
  const inOrder = order.length === expectedOrder.length && order.every((id, i) => id === expectedOrder[i]);

  const lives = new Map<string, string[]>();
  for (const e of firstArrivals) lives.set(e.trackId, [...(lives.get(e.trackId) ?? []), e.type]);
  const badLives: string[] = [];
  for (const [trackId, types] of lives) {
    // One new first, updates, and at most one end, last.
    const ok =
      types[0] === 'new' &&
      types.slice(1).every((t, i) => t === 'update' || (t === 'end' && i === types.length - 2)) &&
      (!requireEnd || types.at(-1) === 'end');
    if (!ok) badLives.push(`${trackId}: ${types.join(' ')}`);
  }
  return { missing, unexpected, inOrder, received: received.length, duplicates: received.length - firstArrivals.length, tracks: lives.size, badLives };
}

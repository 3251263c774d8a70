import type { RecordStore, SampleFilter, SampleRecord } from '../store/types.js';

/**
 * Why a sample was kept, most useful to label first: a model unsure of what it saw teaches most,
 * then two models that disagree, a rare class, a change in count, the random baseline, and last
 * an object's snapshot (its best picture: the one the model was surest of, so it teaches least).
 */
export const REASON_ORDER = ['uncertainty', 'disagreement', 'rareClass', 'countChange', 'random', 'snapshot'] as const;

/** How unsure the device's model was: 1 for a detection at score 0.5, 0 when every score is 0 or 1. */
export function uncertainty(sample: Pick<SampleRecord, 'detections'>): number {
  let most = 0;
  for (const d of sample.detections) if (d.score !== undefined) most = Math.max(most, 1 - Math.abs(2 * d.score - 1));
  return most;
}

function reasonRank(sample: Pick<SampleRecord, 'reasons'>): number {
  let best: number = REASON_ORDER.length;
  for (const r of sample.reasons) {
    const i = (REASON_ORDER as readonly string[]).indexOf(r);
    if (i >= 0 && i < best) best = i;
  }
  return best;
}

/** Queue order: by the best reason a sample was kept, then most uncertain first, then oldest first. */
export function compareForReview(a: SampleRecord, b: SampleRecord): number {
  return reasonRank(a) - reasonRank(b) || uncertainty(b) - uncertainty(a) || a.capturedAt - b.capturedAt || (a.deviceId < b.deviceId ? -1 : a.deviceId > b.deviceId ? 1 : a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
}

/**
 * The first `limit` samples of the filter in review order. The store lists by capture time, so the
 * whole selection is read page by page and only the best `limit` are kept: memory stays at a few
 * pages whatever the hub holds, and time grows with the selection (filters narrow it).
 */
export async function reviewQueue(records: RecordStore, filter: SampleFilter, limit: number): Promise<SampleRecord[]> {
  let best: SampleRecord[] = [];
  let after: string | undefined;
  do {
    const page = await records.listSamples(filter, { limit: 1000, after });
    best.push(...page.samples);
    if (best.length > 2 * limit) best = best.sort(compareForReview).slice(0, limit);
    after = page.next;
  } while (after);
  return best.sort(compareForReview).slice(0, limit);
}

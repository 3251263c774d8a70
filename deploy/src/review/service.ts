import type { RecordStore, SampleFilter, SampleRecord } from '../store/types.js';
import { reviewQueue } from './queue.js';
import { checkLabels, nextReviewAt, ReviewError, type ReviewRules } from './rules.js';

export interface ReviewProgress {
  /** Samples of the filter with a person's labels. */
  reviewed: number;
  /** Samples of the filter still waiting for review. */
  queued: number;
}

/**
 * Reviews as operators make them, through the web UI or `kestrel hub import`: the queue in review
 * order, progress, and saving a review with an optimistic concurrency check, so that of two people
 * editing one sample the second to save is told instead of silently overwriting the first.
 */
export class ReviewService {
  constructor(
    private readonly records: RecordStore,
    readonly rules: ReviewRules,
    private readonly now: () => number = Date.now,
  ) {}

  /** Samples of the filter in review order; unreviewed ones unless the filter says `reviewed`. */
  queue(filter: SampleFilter, limit: number): Promise<SampleRecord[]> {
    return reviewQueue(this.records, { reviewed: false, ...filter }, limit);
  }

  async progress(filter: SampleFilter): Promise<ReviewProgress> {
    const { reviewed: _ignored, ...rest } = filter;
    const [reviewed, queued] = await Promise.all([this.records.countSamples({ ...rest, reviewed: true }), this.records.countSamples({ ...rest, reviewed: false })]);
    return { reviewed, queued };
  }

  /**
   * Saves a person's labels for a sample. `expectedAt` is the review's `at` the editor started
   * from (null: it saw no review): when another save came in between, nothing is written and a
   * 409 ReviewError says so. The new `at` always exceeds the one replaced, so it stays a revision
   * even for two saves in one millisecond. Returns the sample as stored.
   */
  async save(deviceId: string, id: string, input: { labels: unknown; expectedAt: unknown }, by: string): Promise<SampleRecord> {
    const sample = await this.records.getSample(deviceId, id);
    if (!sample) throw new ReviewError(404, 'E_NOT_FOUND', `no sample "${id}" of device "${deviceId}"`);
    const { expectedAt } = input;
    if (expectedAt !== null && !(typeof expectedAt === 'number' && Number.isInteger(expectedAt))) {
      throw new ReviewError(400, 'E_REVIEW_BODY', 'expectedAt: the reviewed.at of the sample as loaded (a whole number), or null when it had no review; it tells a stale edit from a current one');
    }
    const labels = checkLabels(input.labels, sample, this.rules);
    const at = nextReviewAt(this.now(), expectedAt);
    const outcome = await this.records.replaceReviewed(deviceId, id, expectedAt, { labels, by, at });
    if (outcome === 'missing') throw new ReviewError(404, 'E_NOT_FOUND', `no sample "${id}" of device "${deviceId}"`);
    if (outcome === 'stale') {
      const current = await this.records.getSample(deviceId, id);
      const who = current?.reviewed ? `"${current.reviewed.by}" saved it at ${new Date(current.reviewed.at).toISOString()}` : 'its review was removed';
      throw new ReviewError(409, 'E_REVIEW_STALE', `sample "${id}" of device "${deviceId}" changed since it was loaded (${who}); reload it and review again`);
    }
    return { ...sample, reviewed: { labels, by, at } };
  }
}

import type { LabelBoxRecord, SampleRecord } from '../store/types.js';

/** A review the hub refuses: an HTTP status, a stable code and a message naming what is wrong. */
export class ReviewError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** Longest class name a review may use: long enough for any real class, short enough to show. */
export const MAX_LABEL_LENGTH = 64;

export interface ReviewRules {
  /** When set, the only class names a review may use (hub config `review.classes`). */
  classes?: readonly string[];
  /** Most boxes in one review (the hub's limits.maxDetections). */
  maxLabels: number;
}

/**
 * The labels of a review, checked against the sample they are for: boxes `[x1, y1, x2, y2]` in the
 * sample's source-frame pixels (as the device's detections are), inside the frame and at least one
 * pixel wide and high; class names non-empty, at most 64 characters, no control characters, and in
 * `rules.classes` when the hub has a class list. Throws a ReviewError naming the first bad label.
 * An empty list is a valid review: "nothing here".
 */
export function checkLabels(input: unknown, sample: Pick<SampleRecord, 'frameSize'>, rules: ReviewRules): LabelBoxRecord[] {
  if (!Array.isArray(input)) throw new ReviewError(400, 'E_REVIEW_BODY', 'labels: expected a list of { label, box: [x1, y1, x2, y2] } (an empty list means "nothing here")');
  if (input.length > rules.maxLabels) throw new ReviewError(400, 'E_REVIEW_BODY', `labels: ${input.length} boxes, more than this hub takes in one review (${rules.maxLabels})`);
  const [fw, fh] = sample.frameSize;
  const allowed = rules.classes ? new Set(rules.classes) : undefined;
  return input.map((item, index): LabelBoxRecord => {
    const where = `labels[${index}]`;
    if (typeof item !== 'object' || item === null || Array.isArray(item)) throw new ReviewError(400, 'E_REVIEW_BODY', `${where}: expected { label, box }`);
    const { label, box, ...rest } = item as Record<string, unknown>;
    const extra = Object.keys(rest);
    if (extra.length) throw new ReviewError(400, 'E_REVIEW_BODY', `${where}: unknown field ${extra.map((k) => `"${k}"`).join(', ')} (a reviewed label has label and box only)`);
    // Surrounding spaces are a typing slip, not a different class.
    const name = typeof label === 'string' ? label.trim() : '';
    if (typeof label !== 'string' || name === '' || name.length > MAX_LABEL_LENGTH || /\p{Cc}/u.test(name)) {
      throw new ReviewError(400, 'E_REVIEW_LABEL', `${where}.label: a class name is 1 to ${MAX_LABEL_LENGTH} characters without control characters, got ${JSON.stringify(label)?.slice(0, 80)}`);
    }
    if (allowed && !allowed.has(name)) {
      throw new ReviewError(400, 'E_REVIEW_LABEL', `${where}.label: "${name}" is not one of this hub's classes (review.classes: ${[...allowed].join(', ')})`);
    }
    if (!Array.isArray(box) || box.length !== 4 || !box.every((v) => typeof v === 'number' && Number.isFinite(v))) {
      throw new ReviewError(400, 'E_REVIEW_BOX', `${where}.box: expected [x1, y1, x2, y2], four finite numbers`);
    }
    const [x1, y1, x2, y2] = box as number[];
    if (x1 < 0 || y1 < 0 || x2 > fw || y2 > fh) {
      throw new ReviewError(400, 'E_REVIEW_BOX', `${where}.box [${box.join(', ')}] is outside the ${fw}×${fh} frame (boxes are in the frame's pixels, 0 ≤ x ≤ ${fw}, 0 ≤ y ≤ ${fh})`);
    }
    if (x2 - x1 < 1 || y2 - y1 < 1) throw new ReviewError(400, 'E_REVIEW_BOX', `${where}.box [${box.join(', ')}]: x2 must exceed x1 and y2 exceed y1 by at least one pixel`);
    return { label: name, box: [round2(x1), round2(y1), round2(x2), round2(y2)] };
  });
}

function round2(v: number): number {
  return Math.round(v * 100) / 100;
}

/**
 * The `at` of a review that replaces one saved at `previousAt` (null: none): the current time, but
 * always later than the review it replaces, so that `at` also serves as the sample's revision.
 */
export function nextReviewAt(now: number, previousAt: number | null): number {
  return Math.max(now, (previousAt ?? 0) + 1);
}

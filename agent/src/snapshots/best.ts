import type { Box } from '@kestrel/core/image/letterbox';

/** A box this close to the picture's edge (fraction of the side) is taken as cut by it. */
const EDGE_FRACTION = 0.01;
/** A picture replaces the kept one only when its score is higher by this much (each change costs a JPEG encode). */
export const MIN_SCORE_GAIN = 0.05;

/** What decides which picture of an object is its best. */
export interface Candidate {
  score: number;
  /** Source pixels. */
  box: Box;
}

/** Whether the object runs past the picture's edge (part of it is not in the frame). */
export function cutByEdge(box: Box, srcWidth: number, srcHeight: number): boolean {
  const mx = srcWidth * EDGE_FRACTION;
  const my = srcHeight * EDGE_FRACTION;
  return box[0] <= mx || box[1] <= my || box[2] >= srcWidth - mx || box[3] >= srcHeight - my;
}

/**
 * Whether `next` should replace `kept` as an object's snapshot. As Frigate picks: the whole object
 * beats a cut one whatever the scores, then the higher score, by at least MIN_SCORE_GAIN; a larger
 * box wins a tie in score (more pixels of the same object).
 */
export function better(next: Candidate & { cut: boolean }, kept: (Candidate & { cut: boolean }) | undefined): boolean {
  if (!kept) return true;
  if (next.cut !== kept.cut) return !next.cut;
  if (next.score >= kept.score + MIN_SCORE_GAIN) return true;
  return next.score >= kept.score && area(next.box) > 1.5 * area(kept.box);
}

function area(b: Box): number {
  return Math.max(0, b[2] - b[0]) * Math.max(0, b[3] - b[1]);
}

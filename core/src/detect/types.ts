import type { Box } from '../image/letterbox.js';

export type { Box };

/** One detected object. `box` is [x1, y1, x2, y2] in the pixel space named by the caller. */
export interface Detection {
  classId: number;
  label: string;
  score: number;
  box: Box;
}

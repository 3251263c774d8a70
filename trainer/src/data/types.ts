import type { Box } from '@kestrel/core/detect/types';

export type { Box };

export const SPLITS = ['train', 'val', 'test'] as const;
export type SplitName = (typeof SPLITS)[number];

/** One labelled box; `box` is [x1, y1, x2, y2] normalised to 0..1 of the image (YOLO keeps centres and sizes; we keep corners). */
export interface LabelBox {
  classId: number;
  box: Box;
  /** A teacher's confidence in this box (distillation's soft label); absent for human labels. */
  score?: number;
}

export interface DatasetItem {
  /** Image path relative to the dataset's images/ folder, with its extension: the item's stable id. */
  id: string;
  imagePath: string;
  labelPath: string;
  boxes: LabelBox[];
}

export interface Dataset {
  root: string;
  name: string;
  classes: string[];
  items: DatasetItem[];
  /** Ids per split; empty when the dataset defines none (split it with a seed). */
  splits: Record<SplitName, string[]>;
}

/** The on-disk description next to images/ and labels/ (Kestrel's format is YOLO txt + this). */
export interface DatasetManifest {
  schema: 1;
  name: string;
  classes: string[];
  splits?: Partial<Record<SplitName, string[]>>;
  /** Where it came from (import source, synth parameters); informational. */
  source?: Record<string, unknown>;
}

/** A decoded image with boxes in its pixels: what augmentation transforms. */
export interface Sample {
  width: number;
  height: number;
  /** RGB, HWC, uint8. */
  data: Uint8Array;
  boxes: LabelBox[];
}

import type { Box } from '@kestrel/core';

/** The layouts a gate set may come in: the hub's own exports, and the trainer's dataset folder. */
export type GateSetFormat = 'yolo' | 'coco' | 'kestrel';

/** One labelled box, corners normalised to 0..1 of its image (so YOLO and COCO sets compare alike). */
export interface GateBox {
  classId: number;
  box: Box;
}

export interface GateImage {
  /** Path under the set's image folder: the image's stable id. */
  id: string;
  path: string;
  boxes: GateBox[];
  /** COCO crowd regions: a detection there counts neither way. */
  ignore: GateBox[];
}

/** A held-out set of reviewed images the candidate and the release it replaces are scored on. */
export interface GateSet {
  root: string;
  format: GateSetFormat;
  classes: string[];
  images: GateImage[];
  /** sha256 (hex) of the class names, every image's bytes and its labels: which set a record was gated on. */
  sha256: string;
  /** From a hub export's kestrel-export.json: images a person reviewed, and images with only device pre-labels. */
  labelSources?: { reviewed: number; device: number };
}

/** One model's figures on a gate set (COCO style, core/src/eval). */
export interface GateFigures {
  map50: number;
  map50to95: number;
  /** Pooled over classes at the score threshold with the best F1. */
  precision: number;
  recall: number;
}

/** What the gate decided, and on what: kept in the release record (`ReleaseRecord.gate`). */
export interface ReleaseGate {
  /** The figure compared: mAP@0.5. */
  metric: 'map50';
  /** A candidate may be this much (absolute) below the release it replaces and still pass. */
  margin: number;
  passed: boolean;
  set: { path: string; format: GateSetFormat; images: number; boxes: number; classes: string[]; sha256: string; labelSources?: { reviewed: number; device: number } };
  candidate: GateFigures;
  /** Absent when no release of that name existed yet (nothing to beat). */
  baseline?: GateFigures & { id: string };
  evaluatedAt: number;
}

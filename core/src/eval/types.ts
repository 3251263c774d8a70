import type { Box } from '../image/letterbox.js';
import type { Detection } from '../detect/types.js';

/** What a model found in one image (boxes in any pixel space, the same as the ground truth's). */
export interface ImagePredictions {
  imageId: string;
  detections: Detection[];
}

export interface GroundTruthBox {
  classId: number;
  box: Box;
}

/** The true objects of one image. An image with no objects has `boxes: []`. */
export interface ImageGroundTruth {
  imageId: string;
  boxes: GroundTruthBox[];
  /**
   * Objects a detector may find or miss without penalty (VOC's "difficult", COCO's crowd):
   * a detection that matches no box but overlaps one of these counts neither way.
   */
  ignore?: GroundTruthBox[];
}

export interface EvalOptions {
  /** Class names, for reports; their count sets the confusion matrix size when given. */
  labels?: string[];
  /** Minimum score for a detection to enter the confusion matrix (AP uses every detection). */
  confusionScoreThreshold?: number;
  /** IoU for a detection to count as the same object in the confusion matrix and P/R/F1. */
  matchIou?: number;
}

export interface ClassMetrics {
  classId: number;
  label?: string;
  /** Ground-truth boxes of this class. */
  truths: number;
  /** Detections of this class (any score). */
  detections: number;
  ap50: number;
  ap50to95: number;
  /** At the global best-F1 score threshold. */
  precision: number;
  recall: number;
}

/**
 * `matrix[trueClass][predictedClass]`; index `size - 1` is background on both axes:
 * row background = detections of nothing (false positives), column background = missed objects.
 */
export interface ConfusionMatrix {
  classes: number;
  labels?: string[];
  scoreThreshold: number;
  iouThreshold: number;
  matrix: number[][];
}

export interface DetectionMetrics {
  /** Mean over classes that have ground truth (COCO leaves the others out). */
  map50: number;
  map50to95: number;
  /** Pooled over all classes at IoU `matchIou`, at the score threshold that maximises F1. */
  precision: number;
  recall: number;
  f1: number;
  scoreThreshold: number;
  perClass: ClassMetrics[];
  confusion: ConfusionMatrix;
  images: number;
  truths: number;
  detections: number;
}

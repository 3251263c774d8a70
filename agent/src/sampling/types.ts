import type { Detection } from '@kestrel/core';
import type { StrategyName } from '@kestrel/config/schema/sampling';

export type { StrategyName };

/** Why a sample was kept: the strategies that picked the frame, or `snapshot` (an object's best picture, sent at its end). */
export type SampleReason = StrategyName | 'snapshot';

/** What a second (shadow) model found in the same frame, for the disagreement strategy. */
export interface ShadowDetections {
  modelVersion: string;
  /** In source pixels, like the primary model's. */
  detections: Detection[];
}

/** What a strategy looks at: one processed frame of one camera. */
export interface StrategyInput {
  camera: string;
  /** The frame's capture time, epoch ms. */
  at: number;
  /** Everything the primary model returned (low scores included), boxes in source pixels. */
  detections: readonly Detection[];
  shadow?: ShadowDetections;
}

/**
 * One rule that may keep a frame. `evaluate` is called for every processed frame of its camera
 * (strategies that learn from the stream — rare classes, count change — update themselves there)
 * and says whether this frame is worth keeping by its rule.
 */
export interface SamplingStrategy {
  readonly name: StrategyName;
  evaluate(input: StrategyInput): boolean;
}

/** A detection as a sample stores it: rounded, boxes in source pixels. */
export interface SampleDetection {
  label: string;
  score: number;
  box: [number, number, number, number];
}

/**
 * A frame the sampler kept, as the device's buffer indexes it (the JPEG lives next to the index).
 * It travels as core's `Sample` payload; the hub keeps it as a SampleRecord
 * (deploy/src/store/types.ts), which adds the device id, the blob key and any review.
 */
export interface KeptSample {
  /** Unique on this device, and the hub's idempotency key together with the device id. */
  id: string;
  camera: string;
  capturedAt: number;
  modelVersion: string;
  /** Strategies that kept the frame, or `snapshot`. */
  reasons: SampleReason[];
  /** The model's detections: pre-labels for whoever labels the frame. Source pixels. */
  detections: SampleDetection[];
  shadow?: { modelVersion: string; detections: SampleDetection[] };
  /** The camera's own resolution (what the boxes refer to). */
  frameSize: [number, number];
  /** The stored JPEG's size: the model-input resolution, letterbox padding cut away. */
  imageSize: [number, number];
  /** 64-bit dHash, 16 hex digits. */
  hash: string;
  /** JPEG bytes. */
  bytes: number;
}

export type UploadState = 'pending' | 'rejected';

export interface BufferedSample extends KeptSample {
  state: UploadState;
  attempts: number;
  lastError?: string;
}

/** Per strategy, since the agent started. */
export interface StrategyCounters {
  /** Frames the rule picked. */
  fired: number;
  /** Frames kept with this strategy among their reasons. */
  kept: number;
  /** Picked, but the strategy's own quota was spent. */
  droppedQuota: number;
  /** Picked, but the device-wide quota was spent. */
  droppedGlobalQuota: number;
  /** Picked, but a recent sample looked the same (dHash). */
  droppedDuplicate: number;
}

// Messages between the trainer and its data-parallel replicas (worker threads). A replica holds
// a copy of the training network and the training data; each step it receives the current
// weights and which share of the step's batch to make, and answers with that share's gradients.
import type { BackendChoice } from '../../backend/select.js';
import type { AugmentOptions } from '../../data/augment/pipeline.js';
import type { BatchShare, TrainBatchOptions } from '../../data/loader.js';
import type { DatasetItem } from '../../data/types.js';
import type { DetectorConfig } from '../../model/config.js';
import type { StepLosses } from '../step.js';

export interface ReplicaSetup {
  /** The backend the trainer chose: every replica must compute with the same one. */
  backend: BackendChoice;
  items: DatasetItem[];
  /** Longest side images are decoded to (the training size). */
  cacheSide: number;
  batches: TrainBatchOptions;
  /** The training network (crop size when training on crops). */
  detector: DetectorConfig;
  classWeights: number[];
  temperature: number;
}

export type ReplicaRequest =
  | { type: 'setup'; setup: ReplicaSetup }
  | {
      type: 'step';
      id: number;
      epoch: number;
      step: number;
      augment: AugmentOptions;
      share: BatchShare;
      /** Trainable weights in TrainStep.variables() order. */
      weights: Float32Array[];
    };

export type ReplicaResponse =
  | { type: 'ready' }
  | { type: 'gradients'; id: number; grads: Float32Array[]; losses: StepLosses; images: number }
  | { type: 'error'; id?: number; message: string };

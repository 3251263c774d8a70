import { MotionDetector, type MotionFrame, type MotionResult, type MotionSettings } from './motion-detector.js';

export interface MotionGateSettings extends MotionSettings {
  /** false: every frame goes to inference and no motion is computed. */
  enabled: boolean;
  /** Inference runs at least this often however still the picture is (stationary objects, what motion missed). */
  recheckSeconds: number;
}

/** Why a frame goes to inference, or `no_motion` when it does not. */
export type GateReason = 'always' | 'motion' | 'recalibrated' | 'tracks' | 'recheck' | 'no_motion';

export interface GateDecision {
  readonly infer: boolean;
  readonly reason: GateReason;
  /** The frame's motion; absent when motion detection is off. */
  readonly motion?: MotionResult;
}

/**
 * Decides per frame whether inference is worth running, as Frigate does: when something moved,
 * while any track still needs every frame (a tentative one waiting for its confirmation, one
 * moving, one lost and not stationary: skipping those frames would delay a `new` or break a
 * track), and every `recheckSeconds` anyway, which keeps stationary tracks alive (their lost
 * time is far longer) and bounds how late anything motion missed is found. A recalibration
 * (lights) also runs inference once: the frame that changed everything may hide an arrival.
 */
export class MotionGate {
  private readonly detector: MotionDetector;
  private lastInferenceAt?: number;

  constructor(private readonly settings: MotionGateSettings) {
    this.detector = new MotionDetector(settings);
  }

  /** `time`: the frame's capture time (epoch ms); `tracksNeedFrames`: the tracker's say. */
  decide(frame: MotionFrame, time: number, tracksNeedFrames: boolean): GateDecision {
    if (!this.settings.enabled) return { infer: true, reason: 'always' };
    const motion = this.detector.detect(frame);
    const reason: GateReason | undefined =
      motion.boxes.length > 0 ? 'motion'
      : motion.recalibrated ? 'recalibrated'
      : tracksNeedFrames ? 'tracks'
      : this.lastInferenceAt === undefined || time - this.lastInferenceAt >= this.settings.recheckSeconds * 1000 ? 'recheck'
      : undefined;
    if (reason === undefined) return { infer: false, reason: 'no_motion', motion };
    this.lastInferenceAt = time;
    return { infer: true, reason, motion };
  }

  /** The next frame starts afresh (detection switched back on): background from it, and inference on it. */
  reset(): void {
    this.detector.reset();
    this.lastInferenceAt = undefined;
  }
}

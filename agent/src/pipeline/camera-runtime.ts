import {
  assertTopicLevel, roundBox, DEFAULT_PAD_VALUE,
  type Box, type CameraStatus, type CameraStats, type Detection, type DetectionEvent, type FrameDetections, type InputSpec, type Logger,
} from '@kestrel/core';
import type { CameraConfig } from '@kestrel/config';
import { createSource, type Frame, type FrameSource, type SourceStatus } from '../source/index.js';
import { ObjectTracker } from '../track/object-tracker.js';
import type { TrackEvent } from '../track/events.js';
import { OpenTracksFile } from '../track/open-tracks-file.js';
import { endTracksLeftOpen, openTracksPath } from './restart-ends.js';
import { LatencyWindow } from '../stats/latency-window.js';
import { PrivacyMask } from '../privacy/index.js';
import { CameraSnapshots, type SnapshotOutlet } from '../snapshots/index.js';
import { MotionGate, type GateDecision } from '../motion/index.js';
import type { CameraClips } from '../clips/index.js';

/**
 * Where a camera's results go, typed: events to the durable outbox, detections to telemetry. The
 * sink encodes each message once, on its way to MQTT.
 */
export interface CameraSink {
  event(event: DetectionEvent): void;
  /** Called only when `wantsDetections` is true: nobody builds a payload that is not sent. */
  detections(payload: FrameDetections): void;
  readonly wantsDetections: boolean;
}

/** A frame on its way to inference, with the camera pipeline its detections go on to. */
export interface CameraFrame {
  readonly camera: string;
  readonly frame: Frame;
  readonly pipeline: CameraRuntime;
}

export interface CameraRuntimeDeps {
  input: InputSpec;
  deviceId: string;
  modelVersion: () => string;
  /** Where the camera's open tracks are kept across restarts (`<stateDir>/tracks/<camera>.json`). */
  stateDir: string;
  logger: Logger;
  ffmpegPath?: string;
  sink: CameraSink;
  /** Where the camera's snapshots go; none are made without it or with `snapshots.enabled: false`. */
  snapshots?: SnapshotOutlet;
  /** The camera's clip recorder (`clips.enabled`), already started: it hears of each object's new and end. */
  clips?: CameraClips;
  onFrame: (frame: CameraFrame) => void;
  onStateChange: () => void;
}

/**
 * One camera's path after inference: filters → tracker → event life cycle → MQTT payloads, plus
 * its counters. The source (ffmpeg) is owned here too, so a camera starts and stops as a unit.
 */
export class CameraRuntime {
  readonly source: FrameSource;
  private readonly tracker: ObjectTracker;
  private readonly latency = new LatencyWindow(512);
  private processed = 0;
  private failed = 0;
  private lastFramesIn = 0;
  private lastProcessed = 0;
  private lastDropped = 0;
  private fps = 0;
  private lastFrameTime = 0;
  private lastState?: SourceStatus['state'];
  private lastLoggedError?: string;
  private readonly privacy: PrivacyMask | undefined;
  private readonly openTracks: OpenTracksFile;
  /** The best picture per reported object (`snapshots.enabled`). */
  readonly snapshots: CameraSnapshots | undefined;
  private readonly motion: MotionGate;
  /** Motion boxes of frames on their way to inference, for their detections payload. */
  private readonly motionOf = new WeakMap<Frame, Box[]>();
  private motionBoxes?: number;
  private skipped = 0;
  /** The detector's score threshold: below the tracker's lowScore a detection serves nothing. */
  readonly lowScore: number;

  constructor(
    readonly config: CameraConfig,
    private readonly deps: CameraRuntimeDeps,
  ) {
    // The topics take the camera from each payload; a name that cannot be a topic level fails here, at start.
    assertTopicLevel(config.name, 'camera name');
    this.lowScore = config.tracker.lowScore;
    this.tracker = new ObjectTracker({
      camera: config.name,
      filters: config.filters,
      tracker: config.tracker,
      events: { updateIntervalMs: config.eventUpdateIntervalSeconds * 1000 },
    });
    this.privacy = PrivacyMask.forCamera(config.privacy, deps.logger);
    this.snapshots = config.snapshots.enabled && deps.snapshots ? new CameraSnapshots(config.name, config.snapshots, deps.snapshots, deps.logger) : undefined;
    this.motion = new MotionGate(config.motion);
    this.openTracks = new OpenTracksFile(openTracksPath(deps.stateDir, config.name), config.name, (err) =>
      deps.logger.warn({ err: err.message }, 'cannot keep the open tracks in the state folder; after a crash their end events will be missing'),
    );
    this.source = createSource({
      camera: config.name,
      source: config.source,
      output: { width: deps.input.width, height: deps.input.height, keepAspect: deps.input.letterbox, padValue: deps.input.padValue ?? DEFAULT_PAD_VALUE, fps: config.fps },
      stallSeconds: config.watchdog.stallSeconds,
      backoff: config.watchdog.backoff,
      logger: deps.logger,
      ...(deps.ffmpegPath !== undefined && { ffmpegPath: deps.ffmpegPath }),
    });
  }

  async start(): Promise<void> {
    endTracksLeftOpen(this.openTracks, this.config.name, this.deps);
    this.source.on('frame', this.onFrame);
    this.source.on('state', this.onState);
    await this.source.start();
  }

  async stop(): Promise<void> {
    this.source.off('frame', this.onFrame);
    await this.source.stop();
    this.source.off('state', this.onState);
  }

  private readonly onFrame = (frame: Frame): void => {
    // Before anything else holds the frame (the scheduler, the newest-frame copy for model smoke tests).
    if (this.privacy?.beforeInference) this.privacy.apply(frame);
    this.deps.onFrame({ camera: this.config.name, frame, pipeline: this });
  };

  /**
   * Whether this frame is worth inference (motion gating). Called for frames that arrived with
   * detection on, after the privacy masks were blanked: a masked area shows no motion when the
   * model does not see it either, and with `maskBeforeInference: false` motion sees what the model sees.
   */
  gate(frame: Frame): GateDecision {
    const decision = this.motion.decide(frame, frame.capturedAt, this.tracker.needsEveryFrame());
    if (decision.motion) {
      this.motionBoxes = decision.motion.boxes.length;
      if (decision.infer) this.motionOf.set(frame, decision.motion.boxes);
    }
    if (!decision.infer) this.skipped++;
    return decision;
  }

  /** Detection switched back on: the background and the recheck start again from the next frame. */
  resumeDetection(): void {
    this.motion.reset();
  }

  private readonly onState = (status: SourceStatus): void => {
    if (status.state === this.lastState) return;
    this.lastState = status.state;
    // A camera that stays away cycles failed → connecting → failed every few seconds: one line
    // per new problem at warn, the repeats at debug (the source logs its own outage summary).
    const trouble = status.state === 'failed' || status.state === 'stalled';
    const repeat = trouble ? status.lastError === this.lastLoggedError : status.state === 'connecting' && this.lastLoggedError !== undefined;
    const level = repeat ? 'debug' : trouble ? 'warn' : 'info';
    if (trouble) this.lastLoggedError = status.lastError;
    if (status.state === 'streaming') this.lastLoggedError = undefined;
    this.deps.logger[level]({ state: status.state, lastError: status.lastError, retryInMs: status.retryInMs }, 'camera state');
    this.deps.onStateChange();
  };

  /** One processed frame: track, hand events (and detections when wanted) to the sink. */
  handleDetections(frame: Frame, detections: Detection[], inferenceMs: number): void {
    // The model has seen the frame; from here on nothing may keep it unmasked: the sampler (the
    // inference loop calls it after this), and any picture this pipeline keeps.
    if (this.privacy && !this.privacy.beforeInference) this.privacy.apply(frame);
    this.processed++;
    this.lastFrameTime = frame.capturedAt;
    const { sink } = this.deps;
    const events = this.tracker.update(detections, frame.capturedAt);
    for (const ev of events) {
      sink.event(this.toPayload(ev, frame));
      this.toClips(ev);
    }
    // Right after the events are queued, so a crash leaves at most this frame's change unsaved.
    this.openTracks.save(this.tracker.openTracks(), this.tracker.openChanges, Date.now());
    const wanted = this.config.filters.classes;
    const confident = () => detections.filter((d) => d.score >= this.config.filters.minScore && (!wanted || wanted.includes(d.label)));
    if (this.snapshots) {
      // The frame is masked by now (above, or on arrival): a picture copied from it shows no masked pixel.
      this.snapshots.consider(frame, this.tracker.reportedInFrame(), confident());
      for (const ev of events) if (ev.type === 'end') this.snapshots.end(ev.id);
    }
    const motion = this.motionOf.get(frame);
    if (sink.wantsDetections) {
      sink.detections({
        schema: 1,
        deviceId: this.deps.deviceId,
        camera: this.config.name,
        frameTime: frame.capturedAt,
        frameSize: [frame.geometry.srcWidth, frame.geometry.srcHeight],
        modelVersion: this.deps.modelVersion(),
        inferenceMs: Math.round(inferenceMs * 100) / 100,
        detections: confident().map((d) => {
          const trackId = this.tracker.trackIdOf(d);
          return { label: d.label, score: round3(d.score), box: roundBox(d.box), ...(trackId ? { trackId } : {}) };
        }),
        ...(motion ? { motion: motion.map(roundBox) } : {}),
      });
    }
    // Frame read → handed to MQTT (the outbox for events): the agent's own latency.
    this.latency.add(Date.now() - frame.capturedAt);
  }

  countFailed(): void {
    this.failed++;
  }

  /** Ends every open track (shutdown), so consumers see each object's `end`. */
  flush(): void {
    const at = this.lastFrameTime || Date.now();
    for (const ev of this.tracker.flush(at)) {
      this.deps.sink.event(this.toPayload(ev));
      this.snapshots?.end(ev.id);
      this.toClips(ev);
    }
    this.openTracks.clear();
  }

  /** The clip recorder keeps an announced object's time in its ring, and cuts the clip after its end. */
  private toClips(ev: TrackEvent): void {
    const clips = this.deps.clips;
    if (!clips) return;
    if (ev.type === 'new') clips.objectStarted(ev.id, ev.firstSeen);
    else if (ev.type === 'end') clips.objectEnded({ trackId: ev.id, label: ev.label, firstSeen: ev.firstSeen, lastSeen: ev.lastSeen });
  }

  /** The camera's clip recorder, when it makes clips. */
  get clips(): CameraClips | undefined {
    return this.deps.clips;
  }

  private toPayload(ev: TrackEvent, frame?: Frame): DetectionEvent {
    return {
      schema: 1,
      // Unique per message and identical on redelivery: track life id + step + frame time.
      id: `${ev.id}:${ev.type}:${ev.frameTime}`,
      type: ev.type,
      reason: ev.reason,
      deviceId: this.deps.deviceId,
      camera: this.config.name,
      trackId: ev.id,
      label: ev.label,
      score: round3(ev.currentScore),
      box: roundBox(ev.box),
      zones: ev.zones,
      firstSeen: ev.firstSeen,
      lastSeen: ev.lastSeen,
      frameTime: ev.frameTime,
      modelVersion: this.deps.modelVersion(),
      ...(frame ? { frameSize: [frame.geometry.srcWidth, frame.geometry.srcHeight] as [number, number] } : {}),
    };
  }

  cameraStatus(): CameraStatus {
    const s = this.source.status();
    return {
      state: s.state,
      fps: Math.round(this.fps * 100) / 100,
      ...(s.lastError ? { lastError: s.lastError } : {}),
      since: s.since,
      restarts: s.counters.restarts,
    };
  }

  /** Rates over the interval since the last call, and totals since start. */
  takeStats(intervalSeconds: number, queue: number, droppedTotal: number): CameraStats {
    const framesIn = this.source.status().counters.framesIn;
    const stats: CameraStats = {
      fpsIn: rate(framesIn - this.lastFramesIn, intervalSeconds),
      fpsProcessed: rate(this.processed - this.lastProcessed, intervalSeconds),
      fpsDropped: rate(droppedTotal - this.lastDropped, intervalSeconds),
      framesIn,
      framesProcessed: this.processed,
      framesDropped: droppedTotal,
      latencyMs: this.latency.percentiles(),
      queue,
      framesSkipped: this.skipped,
      ...(this.motionBoxes !== undefined ? { motionBoxes: this.motionBoxes } : {}),
    };
    this.fps = stats.fpsProcessed;
    this.lastFramesIn = framesIn;
    this.lastProcessed = this.processed;
    this.lastDropped = droppedTotal;
    this.latency.reset();
    return stats;
  }
}

function rate(count: number, seconds: number): number {
  return Math.round((Math.max(0, count) / seconds) * 100) / 100;
}

function round3(v: number): number {
  return Math.round(v * 1000) / 1000;
}

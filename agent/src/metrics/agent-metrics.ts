import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { CAMERA_STATES, type CameraState } from '@kestrel/core';

/** What the agent reports at each scrape for the values other parts own (see AgentMetrics.render). */
export interface MetricsSnapshot {
  cameras: Array<{
    name: string;
    /** The object that owns this camera's totals now; a new owner (reload) counts from zero. */
    owner: object;
    state: CameraState;
    sourceRestarts: number;
    /** Frames replaced by a newer one before inference took them. */
    framesSuperseded: number;
    /** When the camera makes snapshots: JPEGs made, better pictures dropped while the encoder was busy, failures. */
    snapshots?: { encoded: number; droppedBusy: number; failed: number };
    /** When the camera makes clips: the recorder's and the clip maker's totals. */
    clips?: { made: number; failed: number; dropped: number; bytes: number; segmentsDeleted: number; clipsDeleted: number; recorderRestarts: number };
  }>;
  inferenceUp: boolean;
  outbox?: { depth: number; bytes: number; droppedBudget: number; droppedAge: number; owner: object };
  mqtt?: { connected: boolean; reconnects: number; telemetryDropped: number; owner: object };
  eventsPublished?: { total: number; owner: object };
  /** Active learning, when the sampler runs (its own totals since it started). */
  samples?: {
    owner: object;
    enabled: boolean;
    considered: number;
    kept: number;
    dropped: { quota: number; duplicate: number; queueFull: number; writeFailed: number; evictedBudget: number; evictedAge: number };
    uploaded: number;
    uploadRejected: number;
    /** Kept samples waiting for upload, and the buffer's size on disk. */
    backlog: number;
    bufferBytes: number;
  };
}

export interface AgentInfo {
  version: string;
  device: string;
  model: string;
  modelVersion: string;
  provider: string;
}

/** Seconds: Prometheus' unit. Inference here runs 15–350 ms; a hung one ends at the hang limit. */
const LATENCY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/**
 * The agent's Prometheus metrics, in a registry of its own (never prom-client's global one), so
 * several agents can live in one process (tests) without their series mixing. Counters the
 * agent sees happen are counted as they happen; totals that other parts keep (outbox drops,
 * MQTT reconnects, source restarts) are mirrored into counters at each scrape.
 */
export class AgentMetrics {
  readonly registry = new Registry();
  /** Per mirrored counter and label set: whose total was seen last, and its value then. */
  private readonly mirrors = new WeakMap<object, Map<string, { owner: object; last: number }>>();

  readonly framesIn = this.counter('kestrel_frames_in_total', 'Frames read from the camera (after the fps limit)', ['camera']);
  readonly framesProcessed = this.counter('kestrel_frames_processed_total', 'Frames that went through inference, tracking and publishing', ['camera']);
  readonly framesDropped = this.counter('kestrel_frames_dropped_total', 'Frames not processed: superseded by a newer frame while inference was busy, or inference failed', ['camera', 'reason']);
  readonly framesSkipped = this.counter('kestrel_frames_skipped_total', 'Frames kept from inference on purpose: motion gating (no_motion: nothing moved, no track needed the frame)', ['camera', 'reason']);
  readonly inferenceSeconds = new Histogram({ name: 'kestrel_inference_seconds', help: 'Inference time per frame (model run, in the worker)', buckets: LATENCY_BUCKETS, registers: [this.registry] });
  readonly endToEndSeconds = new Histogram({ name: 'kestrel_end_to_end_seconds', help: 'Frame read from the camera until its events and detections were handed to MQTT/the outbox', labelNames: ['camera'], buckets: LATENCY_BUCKETS, registers: [this.registry] });
  // label: the model's class names, a bounded set (80 for COCO), so the series stay few.
  readonly events = this.counter('kestrel_events_total', 'Events accepted into the durable outbox, by camera, object class and event type (new, update, end)', ['camera', 'label', 'type']);
  readonly eventsPublished = this.counter('kestrel_events_published_total', 'Events acknowledged by the broker (QoS 1 PUBACK) and removed from the outbox', []);
  readonly outboxDepth = this.gauge('kestrel_outbox_depth', 'Events waiting in the outbox for the broker', []);
  readonly outboxBytes = this.gauge('kestrel_outbox_bytes', 'Payload bytes waiting in the outbox', []);
  readonly outboxDropped = this.counter('kestrel_outbox_dropped_total', 'Events dropped from the outbox to stay within its budget (oldest first) or because they expired', ['reason']);
  readonly mqttConnected = this.gauge('kestrel_mqtt_connected', '1 while connected to the broker', []);
  readonly mqttReconnects = this.counter('kestrel_mqtt_reconnects_total', 'Connections to the broker after the first', []);
  readonly telemetryDropped = this.counter('kestrel_telemetry_dropped_total', 'QoS 0 messages (stats, detections) dropped because the broker was away', []);
  readonly sourceRestarts = this.counter('kestrel_source_restarts_total', 'Camera source (ffmpeg) restarts', ['camera']);
  readonly workerRestarts = this.counter('kestrel_inference_worker_restarts_total', 'Inference worker restarts after a crash or hang', []);
  readonly cameraUp = this.gauge('kestrel_camera_up', '1 while the camera streams', ['camera']);
  readonly cameraState = this.gauge('kestrel_camera_state', 'The camera state, one series per state set to 1', ['camera', 'state']);
  readonly inferenceUp = this.gauge('kestrel_inference_up', '1 while the inference worker is loaded and answering', []);
  readonly configReloads = this.counter('kestrel_config_reloads_total', 'Configuration reloads (SIGHUP or file change)', ['result']);
  readonly samplesConsidered = this.counter('kestrel_samples_considered_total', 'Processed frames the active-learning sampler looked at', []);
  readonly samplesKept = this.counter('kestrel_samples_kept_total', 'Frames kept for active learning', []);
  readonly samplesDropped = this.counter('kestrel_samples_dropped_total', 'Frames a strategy picked but not kept (quota, duplicate, queue_full, write_failed), and kept samples removed before upload (evicted_budget, evicted_age)', ['reason']);
  readonly samplesUploaded = this.counter('kestrel_samples_uploaded_total', 'Samples the hub confirmed', ['result']);
  readonly samplesBacklog = this.gauge('kestrel_samples_backlog', 'Kept samples waiting for upload', []);
  readonly samplesBufferBytes = this.gauge('kestrel_samples_buffer_bytes', 'Size of the sample buffer on disk (JPEGs)', []);
  readonly snapshots = this.counter('kestrel_snapshots_total', 'Snapshot pictures per camera: encoded (a new best picture), dropped_busy (a better picture not taken while the encoder was busy), failed', ['camera', 'result']);
  readonly clips = this.counter('kestrel_clips_total', 'Event clips per camera: made, failed (no recording of the time, ffmpeg failed), dropped (too many waiting, or the agent stopped first)', ['camera', 'result']);
  readonly clipBytes = this.counter('kestrel_clip_bytes_total', 'Bytes of the event clips written', ['camera']);
  readonly clipSegmentsDeleted = this.counter('kestrel_clip_segments_deleted_total', 'Ring segments deleted once no clip could need them', ['camera']);
  readonly clipsDeleted = this.counter('kestrel_clips_deleted_total', 'Finished clips deleted by age (retainHours) or size (maxBytes)', ['camera']);
  readonly clipRecorderRestarts = this.counter('kestrel_clip_recorder_restarts_total', 'Clip recorder (ffmpeg) restarts', ['camera']);
  readonly driftPsi = this.gauge('kestrel_drift_psi', 'The largest PSI of the camera\'s latest drift comparison with the model\'s baseline', ['camera']);
  readonly driftJs = this.gauge('kestrel_drift_js', 'The largest Jensen-Shannon distance (0-1) of the camera\'s latest drift comparison', ['camera']);
  readonly driftAlert = this.gauge('kestrel_drift_alert', '1 while the camera is drifted (PSI above drift.threshold)', ['camera']);
  readonly shadowFrames = this.counter('kestrel_shadow_frames_total', 'Frames a shadow candidate model compared with the serving model', ['camera']);
  readonly shadowDropped = this.counter('kestrel_shadow_dropped_total', 'Frames due for the shadow candidate but skipped because it was still busy (the serving model never waits)', []);
  readonly info = this.gauge('kestrel_agent_info', 'Agent and model versions (always 1)', ['version', 'device', 'model', 'model_version', 'provider']);

  constructor(private readonly snapshot: () => MetricsSnapshot) {
    collectDefaultMetrics({ register: this.registry });
  }

  setInfo(info: AgentInfo): void {
    this.info.reset();
    this.info.set({ version: info.version, device: info.device, model: info.model, model_version: info.modelVersion, provider: info.provider }, 1);
  }

  /** Prometheus text exposition, with the mirrored values brought up to date first. */
  async render(): Promise<string> {
    this.refresh();
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  /** Brings mirrored totals and current-state gauges up to date (also call it before a camera's owner is replaced). */
  refresh(): void {
    const s = this.snapshot();
    this.cameraUp.reset();
    this.cameraState.reset();
    for (const c of s.cameras) {
      this.mirror(this.sourceRestarts, { camera: c.name }, c.owner, c.sourceRestarts);
      this.mirror(this.framesDropped, { camera: c.name, reason: 'superseded' }, c.owner, c.framesSuperseded);
      if (c.snapshots) {
        this.mirror(this.snapshots, { camera: c.name, result: 'encoded' }, c.owner, c.snapshots.encoded);
        this.mirror(this.snapshots, { camera: c.name, result: 'dropped_busy' }, c.owner, c.snapshots.droppedBusy);
        this.mirror(this.snapshots, { camera: c.name, result: 'failed' }, c.owner, c.snapshots.failed);
      }
      if (c.clips) {
        for (const result of ['made', 'failed', 'dropped'] as const) this.mirror(this.clips, { camera: c.name, result }, c.owner, c.clips[result]);
        this.mirror(this.clipBytes, { camera: c.name }, c.owner, c.clips.bytes);
        this.mirror(this.clipSegmentsDeleted, { camera: c.name }, c.owner, c.clips.segmentsDeleted);
        this.mirror(this.clipsDeleted, { camera: c.name }, c.owner, c.clips.clipsDeleted);
        this.mirror(this.clipRecorderRestarts, { camera: c.name }, c.owner, c.clips.recorderRestarts);
      }
      this.cameraUp.set({ camera: c.name }, c.state === 'streaming' ? 1 : 0);
      for (const state of CAMERA_STATES) this.cameraState.set({ camera: c.name, state }, state === c.state ? 1 : 0);
    }
    this.inferenceUp.set(s.inferenceUp ? 1 : 0);
    if (s.outbox) {
      this.outboxDepth.set(s.outbox.depth);
      this.outboxBytes.set(s.outbox.bytes);
      this.mirror(this.outboxDropped, { reason: 'budget' }, s.outbox.owner, s.outbox.droppedBudget);
      this.mirror(this.outboxDropped, { reason: 'age' }, s.outbox.owner, s.outbox.droppedAge);
    }
    if (s.mqtt) {
      this.mqttConnected.set(s.mqtt.connected ? 1 : 0);
      this.mirror(this.mqttReconnects, {}, s.mqtt.owner, s.mqtt.reconnects);
      this.mirror(this.telemetryDropped, {}, s.mqtt.owner, s.mqtt.telemetryDropped);
    }
    if (s.eventsPublished) this.mirror(this.eventsPublished, {}, s.eventsPublished.owner, s.eventsPublished.total);
    if (s.samples) {
      const { owner, dropped } = s.samples;
      this.mirror(this.samplesConsidered, {}, owner, s.samples.considered);
      this.mirror(this.samplesKept, {}, owner, s.samples.kept);
      const reasons = { quota: dropped.quota, duplicate: dropped.duplicate, queue_full: dropped.queueFull, write_failed: dropped.writeFailed, evicted_budget: dropped.evictedBudget, evicted_age: dropped.evictedAge };
      for (const [reason, total] of Object.entries(reasons)) this.mirror(this.samplesDropped, { reason }, owner, total);
      this.mirror(this.samplesUploaded, { result: 'stored' }, owner, s.samples.uploaded);
      this.mirror(this.samplesUploaded, { result: 'rejected' }, owner, s.samples.uploadRejected);
      this.samplesBacklog.set(s.samples.backlog);
      this.samplesBufferBytes.set(s.samples.bufferBytes);
    }
  }

  /**
   * Adds to `counter` what `total` (kept by `owner`) grew since the last look. A different owner
   * under the same labels (a camera rebuilt on reload) started from zero, so all of its total is new.
   */
  private mirror<T extends string>(counter: Counter<T>, labels: Partial<Record<T, string>>, owner: object, total: number): void {
    let seenByLabels = this.mirrors.get(counter);
    if (!seenByLabels) this.mirrors.set(counter, (seenByLabels = new Map()));
    const key = JSON.stringify(labels);
    const seen = seenByLabels.get(key);
    const grown = seen?.owner === owner ? total - seen.last : total;
    seenByLabels.set(key, { owner, last: total });
    // Make the series exist (at 0) as soon as the thing it counts exists.
    counter.inc(labels, Math.max(0, grown));
  }

  private counter<T extends string>(name: string, help: string, labelNames: T[]): Counter<T> {
    return new Counter({ name, help, labelNames, registers: [this.registry] });
  }

  private gauge<T extends string>(name: string, help: string, labelNames: T[]): Gauge<T> {
    return new Gauge({ name, help, labelNames, registers: [this.registry] });
  }
}

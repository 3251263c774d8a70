import { randomBytes } from 'node:crypto';
import { KestrelError, roundBox, type Detection, type Logger } from '@kestrel/core';
import { STRATEGY_NAMES, type SamplingConfig, type StrategyName } from '@kestrel/config/schema/sampling';
import type { Frame } from '../source/types.js';
import { buildCameraStrategies, cameraSamplingEnabled, cameraStrategyConfigs, type CameraStrategy } from './camera-policy.js';
import { RecentHashes } from './dedup.js';
import { dhashRgb, type PixelRegion } from './dhash.js';
import { encodeRegionJpeg, pictureRegion } from './frame-image.js';
import { Quota } from './quota.js';
import { SampleBuffer, type BufferStats } from './sample-buffer.js';
import { HttpTransport } from './transport/http.js';
import { MqttTransport, type PublishAcked } from './transport/mqtt.js';
import type { SampleTransport } from './transport/types.js';
import type { SampleDetection, KeptSample, ShadowDetections, StrategyCounters } from './types.js';
import { Uploader, type UploaderStats } from './uploader.js';

export interface SamplerDeps {
  /** `config.sampling`, with `path` filled in (the config loader does: <stateDir>/samples). */
  config: SamplingConfig & { path: string };
  deviceId: string;
  /** MQTT topic prefix, for the mqtt transport. */
  mqttPrefix: string;
  logger: Logger;
  /** upload.transport mqtt: QoS 1 publish that resolves on PUBACK (MqttLink.publishAcked). */
  publishAcked?: PublishAcked;
  /** Replaces the transport the config names (tests, or a transport of the caller's own). */
  transport?: SampleTransport;
  now?: () => number;
  random?: () => number;
}

export interface SamplerStats {
  enabled: boolean;
  /** Frames passed to consider(). */
  considered: number;
  /** Frames kept (written to the buffer or on their way there). */
  kept: number;
  strategies: Record<StrategyName, StrategyCounters>;
  dropped: {
    /** The device-wide quota was spent. */
    quota: number;
    /** Near-duplicate of a recent sample of the same camera. */
    duplicate: number;
    /** The JPEG writer was still busy with earlier samples. */
    queueFull: number;
    /** Encoding or writing failed (logged). */
    writeFailed: number;
  };
  /** Objects' best pictures taken at their end (reason `snapshot`; the device-wide quota and the writer's queue apply to them too). */
  snapshots: number;
  buffer: BufferStats | null;
  /** Samples waiting for upload. */
  backlog: number;
  upload: UploaderStats | { transport: 'none' };
}

/** Kept frames waiting for the JPEG writer; more are dropped (counted), never queued without bound. */
const MAX_PENDING_WRITES = 4;
/** How often expired samples are removed even when nothing new arrives. */
const AGE_CHECK_MS = 60_000;

interface CameraState {
  enabled: boolean;
  strategies: CameraStrategy[];
  considered: number;
  kept: number;
}

/**
 * Active learning on the device: looks at every processed frame, keeps the ones its strategies
 * pick (within per-strategy and device-wide quotas, minus near-duplicates), stores them in the
 * sample buffer and has the uploader deliver them. consider() is synchronous and cheap (the
 * rules look at detections only; the hash and the JPEG are made only for a frame being kept),
 * so the camera pipeline can call it inline.
 */
export class Sampler {
  private buffer?: SampleBuffer;
  private uploader?: Uploader;
  private globalQuota?: Quota;
  private recent?: RecentHashes;
  private readonly cameras = new Map<string, CameraState>();
  /** Cameras whose drift alert is on (setDrifted): the drift strategy keeps a share of their frames. */
  private readonly drifted = new Set<string>();
  private readonly counters = Object.fromEntries(
    STRATEGY_NAMES.map((name) => [name, { fired: 0, kept: 0, droppedQuota: 0, droppedGlobalQuota: 0, droppedDuplicate: 0 }]),
  ) as Record<StrategyName, StrategyCounters>;
  private readonly dropped = { quota: 0, duplicate: 0, queueFull: 0, writeFailed: 0 };
  private considered = 0;
  private kept = 0;
  private snapshots = 0;
  private pendingWrites = 0;
  private writing: Promise<void> = Promise.resolve();
  private ageTimer?: NodeJS.Timeout;
  private active = false;
  private readonly now: () => number;

  constructor(private readonly deps: SamplerDeps) {
    this.now = deps.now ?? Date.now;
  }

  get enabled(): boolean {
    return this.deps.config.enabled;
  }

  /** Opens (and repairs) the buffer and starts uploading. Does nothing when sampling is off. */
  async start(): Promise<void> {
    const { config, logger } = this.deps;
    if (!config.enabled) return;
    this.buffer = new SampleBuffer({ dir: config.path, maxBytes: config.budget.maxBytes, maxAgeMs: config.budget.maxAgeHours * 3_600_000 }, logger);
    this.buffer.open();
    this.buffer.enforce(this.now());
    this.globalQuota = new Quota(config.quota, this.now());
    this.recent = new RecentHashes({ maxDistance: config.dedup.maxDistance, recent: config.dedup.recent, windowMs: config.dedup.windowMinutes * 60_000 });
    const transport = this.deps.transport ?? this.createTransport();
    if (transport) {
      const upload = config.upload;
      this.uploader = new Uploader(this.buffer, transport, { batchSize: upload.batchSize, backoff: upload.backoff, idleMs: upload.idleSeconds * 1000 }, logger, this.deps.random);
      this.uploader.start();
    }
    this.ageTimer = setInterval(() => this.buffer?.enforce(this.now()), AGE_CHECK_MS);
    this.ageTimer.unref();
    this.active = true;
    logger.info({ path: config.path, transport: transport?.name ?? 'none', ...this.buffer.stats() }, 'sampler started');
  }

  private createTransport(): SampleTransport | undefined {
    const { config, deviceId, mqttPrefix } = this.deps;
    const upload = config.upload;
    switch (upload.transport) {
      case 'none':
        return undefined;
      case 'http':
        if (!upload.url || !upload.token) throw new KestrelError('E_CONFIG', 'sampling.upload: transport http needs url and token');
        return new HttpTransport({ url: upload.url, token: upload.token, deviceId, ca: upload.ca, rejectUnauthorized: upload.rejectUnauthorized, timeoutMs: upload.timeoutSeconds * 1000 });
      case 'mqtt':
        if (!this.deps.publishAcked) throw new KestrelError('E_CONFIG', 'sampling.upload.transport is mqtt, but the sampler was given no MQTT publisher');
        return new MqttTransport({ prefix: mqttPrefix, deviceId, publish: this.deps.publishAcked });
    }
  }

  /**
   * One processed frame and what the model found in it (boxes in source pixels, every score the
   * model returned). `shadow`: a second model's detections in the same frame, when one runs.
   * Never throws for a frame it cannot keep; it counts why.
   */
  consider(frame: Frame, detections: readonly Detection[], modelVersion: string, shadow?: ShadowDetections): void {
    if (!this.active) return;
    this.considered++;
    const at = frame.capturedAt;
    const now = this.now();
    const camera = this.camera(frame.camera, now);
    camera.considered++;
    if (!camera.enabled) return;

    const fired = camera.strategies.filter(({ strategy }) => strategy.evaluate({ camera: frame.camera, at, detections, shadow }));
    if (fired.length === 0) return;
    for (const { strategy } of fired) this.counters[strategy.name].fired++;
    const allowed = fired.filter(({ strategy, quota }) => {
      if (quota.canTake(now)) return true;
      this.counters[strategy.name].droppedQuota++;
      return false;
    });
    if (allowed.length === 0) return;
    if (!this.globalQuota!.canTake(now)) {
      for (const { strategy } of allowed) this.counters[strategy.name].droppedGlobalQuota++;
      this.dropped.quota++;
      return;
    }
    if (this.pendingWrites >= MAX_PENDING_WRITES) {
      this.dropped.queueFull++;
      return;
    }
    const region = pictureRegion(frame.geometry);
    const hash = dhashRgb(frame.data, frame.width, region);
    if (this.deps.config.dedup.enabled && this.recent!.nearDuplicate(frame.camera, hash, now)) {
      for (const { strategy } of allowed) this.counters[strategy.name].droppedDuplicate++;
      this.dropped.duplicate++;
      return;
    }

    // Kept: spend the tokens, remember the look of it, and write it behind the pipeline's back.
    for (const { strategy, quota } of allowed) {
      quota.take(now);
      this.counters[strategy.name].kept++;
    }
    this.globalQuota!.take(now);
    if (this.deps.config.dedup.enabled) this.recent!.remember(frame.camera, hash, now);
    this.kept++;
    camera.kept++;
    const record: Omit<KeptSample, 'bytes'> = {
      id: sampleId(frame.camera, at),
      camera: frame.camera,
      capturedAt: at,
      modelVersion,
      reasons: allowed.map(({ strategy }) => strategy.name),
      detections: detections.map(toSampleDetection),
      ...(shadow ? { shadow: { modelVersion: shadow.modelVersion, detections: shadow.detections.map(toSampleDetection) } } : {}),
      frameSize: [frame.geometry.srcWidth, frame.geometry.srcHeight],
      imageSize: [region.width, region.height],
      hash,
    };
    // A copy: the pipeline may hand the frame's buffer on (to a worker) once this returns.
    const pixels = frame.data.slice();
    this.pendingWrites++;
    this.writing = this.writing.then(() => this.write(record, pixels, frame.width, frame.height, region));
  }

  /**
   * An object's best picture at its end (`snapshots.upload`), kept as a sample with reason
   * `snapshot`: the review queue shows it, and it travels to the hub like any sample. The JPEG is
   * already made (the clean picture, masks blanked); no strategy or dedup decides, but the
   * device-wide quota and the writer's queue do, as for every sample.
   */
  keepSnapshot(snapshot: { camera: string; capturedAt: number; detections: readonly Pick<Detection, 'label' | 'score' | 'box'>[]; frameSize: [number, number]; imageSize: [number, number]; hash: string; jpeg: Buffer }, modelVersion: string): boolean {
    if (!this.active) return false;
    const now = this.now();
    if (!this.globalQuota!.canTake(now)) {
      this.dropped.quota++;
      return false;
    }
    if (this.pendingWrites >= MAX_PENDING_WRITES) {
      this.dropped.queueFull++;
      return false;
    }
    this.globalQuota!.take(now);
    this.kept++;
    this.snapshots++;
    const record: Omit<KeptSample, 'bytes'> = {
      id: sampleId(snapshot.camera, snapshot.capturedAt),
      camera: snapshot.camera,
      capturedAt: snapshot.capturedAt,
      modelVersion,
      reasons: ['snapshot'],
      detections: snapshot.detections.map(toSampleDetection),
      frameSize: snapshot.frameSize,
      imageSize: snapshot.imageSize,
      hash: snapshot.hash,
    };
    this.pendingWrites++;
    this.writing = this.writing.then(() => this.store(record, () => Promise.resolve(snapshot.jpeg)));
    return true;
  }

  private write(record: Omit<KeptSample, 'bytes'>, pixels: Uint8Array, width: number, height: number, region: PixelRegion): Promise<void> {
    return this.store(record, () => encodeRegionJpeg(pixels, width, height, region, this.deps.config.jpegQuality));
  }

  private async store(record: Omit<KeptSample, 'bytes'>, encode: () => Promise<Buffer>): Promise<void> {
    try {
      const jpeg = await encode();
      if (!this.buffer) return;
      await this.buffer.add(record, jpeg, this.now());
      this.uploader?.kick();
    } catch (err) {
      this.dropped.writeFailed++;
      this.deps.logger.error({ err: (err as Error).message, camera: record.camera }, 'writing a sample failed');
    } finally {
      this.pendingWrites--;
    }
  }

  /** Resolves when every frame kept so far is in the buffer (or failed). */
  async flush(): Promise<void> {
    for (;;) {
      const current = this.writing;
      await current;
      if (current === this.writing) return;
    }
  }

  private camera(name: string, now: number): CameraState {
    let state = this.cameras.get(name);
    if (!state) {
      const { config } = this.deps;
      const enabled = cameraSamplingEnabled(config, name);
      state = { enabled, strategies: enabled ? buildCameraStrategies(cameraStrategyConfigs(config, name), now, this.deps.random, (camera) => this.drifted.has(camera)) : [], considered: 0, kept: 0 };
      this.cameras.set(name, state);
    }
    return state;
  }

  /** A camera's drift alert went on or off (the drift monitor, with drift.boostSampler). */
  setDrifted(camera: string, drifted: boolean): void {
    if (drifted) this.drifted.add(camera);
    else this.drifted.delete(camera);
  }

  /** Stops taking frames, finishes the writes in progress (bounded), stops the uploader, closes the buffer. */
  async stop(timeoutMs = 5000): Promise<void> {
    if (!this.active) return;
    this.active = false;
    clearInterval(this.ageTimer);
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([this.flush(), new Promise((resolve) => (timer = setTimeout(resolve, timeoutMs / 2)))]);
    clearTimeout(timer);
    await this.uploader?.stop(timeoutMs / 2);
    this.buffer?.close();
    this.buffer = undefined;
    this.deps.logger.info({ kept: this.kept, considered: this.considered }, 'sampler stopped');
  }

  stats(): SamplerStats {
    const buffer = this.buffer?.stats() ?? null;
    return {
      enabled: this.deps.config.enabled,
      considered: this.considered,
      kept: this.kept,
      strategies: Object.fromEntries(Object.entries(this.counters).map(([k, v]) => [k, { ...v }])) as Record<StrategyName, StrategyCounters>,
      dropped: { ...this.dropped },
      snapshots: this.snapshots,
      buffer,
      backlog: buffer?.pending ?? 0,
      upload: this.uploader?.stats() ?? { transport: 'none' },
    };
  }

  /** Per camera: frames considered and kept. */
  cameraStats(): Record<string, { considered: number; kept: number }> {
    return Object.fromEntries([...this.cameras].map(([name, s]) => [name, { considered: s.considered, kept: s.kept }]));
  }
}

/** Time-ordered, unique per device, usable as a file name: `<camera>-<capturedAt>-<random>`. */
function sampleId(camera: string, at: number): string {
  return `${camera.replace(/[^A-Za-z0-9_-]/g, '_').slice(0, 64)}-${at}-${randomBytes(4).toString('hex')}`;
}

function toSampleDetection(d: Pick<Detection, 'label' | 'score' | 'box'>): SampleDetection {
  return { label: d.label, score: Math.round(d.score * 1000) / 1000, box: roundBox(d.box) };
}

import { setImmediate as setImmediateAsync } from 'node:timers/promises';
import { isKestrelError, type Detection, type Logger } from '@kestrel/core';
import type { FrameScheduler } from '../schedule/index.js';
import type { CameraFrame } from '../pipeline/camera-runtime.js';
import type { AgentMetrics } from '../metrics/agent-metrics.js';
import type { InferenceLiveness } from '../health/inference-liveness.js';
import type { InferenceCounters } from '../update/index.js';
import type { LatencyWindow } from '../stats/latency-window.js';
import type { Frame } from '../source/index.js';
import type { InferenceEngine } from './engine.js';
import { PrefetchPacer } from './prefetch-pacer.js';
import { FailureLog } from './failure-log.js';

export interface InferenceLoopDeps {
  engine: InferenceEngine;
  scheduler: FrameScheduler<CameraFrame>;
  /** Whether a frame's pipeline still serves its camera when its answer comes (a reload may have replaced it). */
  isCurrent: (pipeline: CameraFrame['pipeline']) => boolean;
  liveness: InferenceLiveness;
  counters: InferenceCounters;
  /** Inference time of each frame, for the stats. */
  latency: LatencyWindow;
  metrics: AgentMetrics;
  /** Sees every processed frame with its detections (active learning), when enabled. */
  sampler?: { consider(frame: Frame, detections: Detection[], modelVersion: string): void };
  /** Sees every processed frame's detections (drift histograms), when enabled. */
  drift?: { observe(camera: string, detections: readonly Detection[], frameArea: number): void };
  /** Sees every processed frame (a candidate model beside the current one), when a shadow comparison may run. */
  shadow?: { offer(frame: Frame, detections: readonly Detection[], inferenceMs: number, scoreThreshold: number): void };
  logger: Logger;
}

/** How long a stop waits for frames already in the worker to come back and be published. */
const DRAIN_MS = 2000;

/**
 * The inference loop: takes frames from the scheduler, cameras served in turn, runs them on the
 * worker and hands each answer on to its camera's pipeline. The worker holds the running frame
 * and, sent just before that one is expected to end (PrefetchPacer), the next: it never idles
 * for a round trip, and the next frame is as fresh as it can be. A frame's place is freed as
 * soon as the worker answers, and its tracking and publishing wait until the next frame is on
 * its way.
 */
export class InferenceLoop {
  readonly name = 'inference loop';
  private readonly abort = new AbortController();
  private readonly failures: FailureLog;
  private running?: Promise<void>;

  constructor(private readonly deps: InferenceLoopDeps) {
    this.failures = new FailureLog(deps.logger);
  }

  get started(): boolean {
    return this.running !== undefined;
  }

  start(): void {
    this.running ??= this.run();
  }

  /** No new frames are taken; frames in the worker finish (bounded) and their events are queued. */
  async stop(): Promise<void> {
    this.abort.abort();
    this.deps.scheduler.close();
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([this.running, new Promise((r) => (timer = setTimeout(r, DRAIN_MS)))]).finally(() => clearTimeout(timer));
  }

  private async run(): Promise<void> {
    const { engine, scheduler } = this.deps;
    const pacer = new PrefetchPacer();
    const inWorker: Promise<void>[] = [];
    const finishing = new Set<Promise<void>>();
    while (!this.abort.signal.aborted) {
      if (inWorker.length >= engine.maxInFlight) {
        await Promise.race(inWorker);
        continue;
      }
      if (inWorker.length > 0) {
        const dueInMs = pacer.prefetchInMs();
        if (dueInMs === undefined || dueInMs > 0) {
          await raceDelay(Promise.race(inWorker), dueInMs);
          continue;
        }
      }
      const scheduled = await scheduler.wait(this.abort.signal);
      if (!scheduled) break;
      if (inWorker.length === 0) pacer.started();
      let release!: (ok: boolean) => void;
      const answered = new Promise<boolean>((resolve) => (release = resolve)).then((ok) => {
        inWorker.splice(inWorker.indexOf(answered), 1);
        if (ok) pacer.finished();
        else pacer.reset();
        // The frame sent ahead starts now.
        if (inWorker.length > 0) pacer.started();
      });
      inWorker.push(answered);
      const done = this.process(scheduled, release).finally(() => {
        release(false);
        finishing.delete(done);
      });
      finishing.add(done);
    }
    await Promise.allSettled(finishing);
  }

  /** One frame through inference, then its camera's pipeline. `answered(ok)` is called when the worker answers. */
  private async process({ camera, frame, pipeline }: CameraFrame, answered: (ok: boolean) => void): Promise<void> {
    const { engine, liveness, metrics, counters } = this.deps;
    if (!this.deps.isCurrent(pipeline)) {
      metrics.framesDropped.inc({ camera, reason: 'stopped' });
      return;
    }
    const token = liveness.begin();
    try {
      const result = await engine.infer(frame.data, frame.geometry, { scoreThreshold: pipeline.lowScore });
      liveness.answered(token);
      answered(true);
      // Let the loop hand the next frame to the worker first (a few microtasks), then do this one's work.
      await setImmediateAsync();
      this.deps.latency.add(result.inferenceMs);
      metrics.inferenceSeconds.observe(result.inferenceMs / 1000);
      // The camera was stopped or replaced (reload) while its frame was in the worker.
      if (!this.deps.isCurrent(pipeline)) {
        metrics.framesDropped.inc({ camera, reason: 'stopped' });
        return;
      }
      pipeline.handleDetections(frame, result.detections, result.inferenceMs);
      this.deps.sampler?.consider(frame, result.detections, engine.info?.meta.version ?? '0');
      // Synchronously, while frame.data holds this frame: the candidate's tensor is made now, its answer comes later.
      this.deps.shadow?.offer(frame, result.detections, result.inferenceMs, pipeline.lowScore);
      // Every detection the model returned (boxes in source pixels): the histograms count those at their minScore and up.
      this.deps.drift?.observe(camera, result.detections, frame.geometry.srcWidth * frame.geometry.srcHeight);
      counters.ok(camera, result.detections, result.inferenceMs);
      liveness.processed();
      metrics.framesProcessed.inc({ camera });
      metrics.endToEndSeconds.observe({ camera }, (Date.now() - frame.capturedAt) / 1000);
    } catch (err) {
      const code = isKestrelError(err) ? err.code : '';
      // An error reply is still an answer: the worker lives. Restarting/stopped means it did not
      // answer; those are the worker's lifecycle, logged where they happen.
      const lifecycle = code === 'E_INFERENCE_RESTARTING' || code === 'E_INFERENCE_STOPPED';
      if (lifecycle) liveness.failed(token);
      else liveness.answered(token);
      pipeline.countFailed();
      counters.failed(camera);
      metrics.framesDropped.inc({ camera, reason: 'inference_failed' });
      if (!lifecycle) {
        liveness.inferenceFailed((err as Error).message);
        this.failures.note(code || 'E_INFERENCE', camera, (err as Error).message);
      }
    }
  }
}

/** `promise`, or `ms` elapsing first (never, when `ms` is undefined). */
function raceDelay(promise: Promise<unknown>, ms: number | undefined): Promise<unknown> {
  if (ms === undefined) return promise;
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([promise, new Promise((resolve) => (timer = setTimeout(resolve, ms)))]).finally(() => clearTimeout(timer));
}

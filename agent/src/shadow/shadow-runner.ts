import { join } from 'node:path';
import { existsSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import {
  checkManifest, outgoing, parsePayload, subscription, topics,
  type Detection, type DeviceTopics, type Logger, type ModelRef, type OutgoingMessage, type ReleaseManifest, type ShadowReport, type Subscription, type TrustedKeys,
} from '@kestrel/core';
import { InferenceEngine } from '../inference/engine.js';
import type { LoadOptions, ModelInfo } from '../inference/protocol.js';
import type { Frame } from '../source/types.js';
import { downloadArtifact, sha256File } from '../update/download.js';
import { CameraShadowTally } from './tally.js';

export interface ShadowRunnerOptions {
  deviceId: string;
  prefix: string;
  stateDir: string;
  reportIntervalS: number;
  /** The release keys the device trusts now (the updater's, rotations included). */
  trusted: () => TrustedKeys;
  agentVersion: string;
  /** The agent's MQTT link: the order is read and the report written through it. */
  link: {
    subscribe(subscription: Subscription, onMessage: (topic: string, payload: Buffer) => void): void;
    publishIfConnected(message: OutgoingMessage): boolean;
  };
  /** Load options of the serving model; the candidate gets one thread. */
  load: LoadOptions;
  download?: { deadlineMs?: number; idleTimeoutMs?: number; headers?: Record<string, string> };
  /** The serving model, for the report and the input-size check. */
  current: () => ModelInfo | undefined;
  /** A camera's minScore: detections below it count for neither model. */
  minScore: (camera: string) => number;
  /** Counted as they happen (Prometheus), beside the totals in the report. */
  metrics?: { shadowFrames: { inc(labels: { camera: string }): void }; shadowDropped: { inc(): void } };
  now?: () => number;
  logger: Logger;
}

/** One shadow run: the candidate's worker and what it counted so far. */
interface Run {
  id: string;
  manifest: ReleaseManifest;
  share: number;
  until: number;
  since: number;
  status: ShadowReport['status'];
  reason?: string;
  engine?: InferenceEngine;
  /** Share accumulator: a frame is due each time it passes 1 (exactly `share` of frames, evenly spread). */
  credit: number;
  dropped: number;
  cameras: Map<string, CameraShadowTally>;
  untilTimer?: NodeJS.Timeout;
}

/** Per camera at most this many tallies (a reload storm of renamed cameras cannot grow it without bound). */
const MAX_CAMERAS = 64;

/**
 * Shadow comparison (A/B) on the device: the hub's retained `model/shadow` names a signed
 * candidate, the share of live frames it sees and until when. The manifest is checked and the
 * artifact downloaded and verified as an update's are, into `<stateDir>/shadow/` (not the updater's
 * model folder, whose pruning keeps only what serves), and the candidate runs in a second worker
 * with one thread and one frame in flight. The inference loop offers it each answered frame after
 * the camera's pipeline has it: when the candidate is still busy the frame is dropped and counted,
 * so the serving model never waits. The running totals go out on the retained `shadow` topic every
 * `reportIntervalS`, and once more when the run ends.
 */
export class ShadowRunner {
  readonly name = 'shadow';
  private readonly topics: DeviceTopics;
  private run?: Run;
  private timer?: NodeJS.Timeout;
  /** Orders are handled one after another: a stop that arrives during a download waits for it. */
  private queue: Promise<void> = Promise.resolve();
  private stopped = false;

  constructor(private readonly options: ShadowRunnerOptions) {
    this.topics = topics(options.prefix, options.deviceId);
  }

  start(): void {
    this.stopped = false;
    this.options.link.subscribe(subscription(this.options.prefix, 'shadowSet', this.options.deviceId), (_topic, payload) => {
      this.queue = this.queue.then(() => this.onOrder(payload)).catch((err: Error) => this.options.logger.error({ err: err.message }, 'shadow order failed'));
    });
    this.timer = setInterval(() => this.report(), this.options.reportIntervalS * 1000);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    await this.queue;
    await this.end('stopped', 'the agent stopped');
  }

  /** The running shadow's id, when one runs (tests, health). */
  get running(): string | undefined {
    return this.run?.status === 'running' ? this.run.id : undefined;
  }

  /**
   * An answered frame: runs the candidate on it when it is due and the candidate is free. Called
   * synchronously right after the camera's pipeline took the frame: the candidate's input tensor
   * is made from `frame.data` before this returns.
   */
  offer(frame: Frame, current: readonly Detection[], currentMs: number, scoreThreshold: number): void {
    const run = this.run;
    if (!run || run.status !== 'running' || !run.engine?.ready) return;
    run.credit += run.share;
    if (run.credit < 1) return;
    run.credit -= 1;
    if (run.engine.inFlight > 0) {
      run.dropped++;
      this.options.metrics?.shadowDropped.inc();
      return;
    }
    const camera = frame.camera;
    let tally = run.cameras.get(camera);
    if (!tally) {
      if (run.cameras.size >= MAX_CAMERAS) return void run.dropped++;
      tally = new CameraShadowTally();
      run.cameras.set(camera, tally);
    }
    const counted = tally;
    const detections = [...current];
    run.engine.infer(frame.data, frame.geometry, { scoreThreshold }).then(
      (result) => {
        if (this.run !== run) return;
        counted.add(detections, result.detections, currentMs, result.inferenceMs, this.options.minScore(camera));
        this.options.metrics?.shadowFrames.inc({ camera });
      },
      () => {
        if (this.run === run) run.dropped++;
      },
    );
  }

  private async onOrder(payload: Buffer): Promise<void> {
    if (this.stopped) return;
    // An empty retained payload clears the order: nothing to do.
    if (payload.length === 0) return;
    let order;
    try {
      order = parsePayload('shadowSet', payload);
    } catch (err) {
      this.options.logger.warn({ err: (err as Error).message }, 'shadow order refused');
      return;
    }
    if (order.action === 'stop') {
      if (this.run?.id === order.id) await this.end('stopped', 'the hub stopped the shadow');
      return;
    }
    // The retained order again (a reconnect): the run it started goes on.
    if (this.run?.id === order.id) return;
    await this.end('stopped', `replaced by shadow ${order.id}`);
    const now = this.now();
    const run: Run = { id: order.id, manifest: order.manifest, share: order.share, until: order.until, since: now, status: 'running', credit: 0, dropped: 0, cameras: new Map() };
    this.run = run;
    const log = this.options.logger.child({ shadow: order.id, candidate: `${order.manifest.name}@${order.manifest.version}` });
    // The retained order of a run that is over (the agent restarted after its end): said once, not run.
    if (order.until <= now) return this.end('stopped', `the shadow ended at ${new Date(order.until).toISOString()}`);
    try {
      checkManifest(order.manifest, { trusted: this.options.trusted(), now, lastSequence: 0, agentVersion: this.options.agentVersion });
      const path = await this.artifact(order.manifest, log);
      const engine = new InferenceEngine({ modelPath: path, load: { ...this.options.load, threads: 1 }, logger: log, maxInFlight: 1 });
      run.engine = engine;
      const info = await engine.start();
      const input = this.options.current()?.meta.input;
      if (input && (info.meta.input.width !== input.width || info.meta.input.height !== input.height)) {
        throw new Error(`the candidate's input is ${info.meta.input.width}x${info.meta.input.height}, the serving model's ${input.width}x${input.height} (the cameras are scaled for it)`);
      }
      if (this.run !== run || this.stopped) return;
      run.untilTimer = setTimeout(() => void this.end('stopped', 'the shadow reached its end time'), Math.min(order.until - this.now(), 2 ** 31 - 1));
      run.untilTimer.unref();
      log.info({ share: order.share, until: new Date(order.until).toISOString() }, 'shadow comparison started');
      this.report();
    } catch (err) {
      log.warn({ err: (err as Error).message }, 'shadow comparison refused');
      await this.end('failed', (err as Error).message);
    }
  }

  /** The verified candidate file: a copy already there with the right hash, or a fresh download. */
  private async artifact(manifest: ReleaseManifest, log: Logger): Promise<string> {
    const path = join(this.options.stateDir, 'shadow', `${manifest.sha256}.onnx`);
    if (existsSync(path) && (await sha256File(path)) === manifest.sha256) return path;
    const d = this.options.download;
    await downloadArtifact({ url: manifest.url, dest: path, size: manifest.size, sha256: manifest.sha256, deadlineMs: d?.deadlineMs, idleTimeoutMs: d?.idleTimeoutMs, headers: d?.headers, logger: log });
    return path;
  }

  /** Ends the current run: its worker goes, the last report says why, the candidate file is removed. */
  private async end(status: 'stopped' | 'failed', reason: string): Promise<void> {
    const run = this.run;
    if (!run || run.status !== 'running') return;
    run.status = status;
    run.reason = reason;
    clearTimeout(run.untilTimer);
    this.report();
    this.options.logger.info({ shadow: run.id, status, reason }, 'shadow comparison ended');
    await run.engine?.stop().catch(() => undefined);
    await rm(join(this.options.stateDir, 'shadow', `${run.manifest.sha256}.onnx`), { force: true });
  }

  /** The current run's totals on the retained `shadow` topic (dropped when offline: the next one follows). */
  private report(): void {
    const run = this.run;
    if (!run) return;
    const info = this.options.current();
    const current: ModelRef | null = info ? { name: info.meta.name ?? 'model', version: info.meta.version ?? '0', sha256: info.sha256 } : null;
    const report: ShadowReport = {
      schema: 1,
      deviceId: this.options.deviceId,
      id: run.id,
      status: run.status,
      ...(run.reason !== undefined && { reason: run.reason.slice(0, 500) }),
      candidate: { name: run.manifest.name, version: run.manifest.version, sha256: run.manifest.sha256 },
      current,
      share: run.share,
      since: run.since,
      at: this.now(),
      dropped: run.dropped,
      cameras: Object.fromEntries([...run.cameras].map(([camera, tally]) => [camera, tally.figures()])),
    };
    this.options.link.publishIfConnected(outgoing(this.topics, 'shadowReport', report));
  }

  private now(): number {
    return (this.options.now ?? Date.now)();
  }
}

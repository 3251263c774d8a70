import type { CameraStatus, CameraStats, InputSpec, Logger } from '@kestrel/core';
import type { CameraConfig } from '@kestrel/config';
import type { Frame } from '../source/index.js';
import type { FrameScheduler } from '../schedule/index.js';
import type { AgentMetrics, MetricsSnapshot } from '../metrics/agent-metrics.js';
import type { ReloadPlan } from '../reload/plan.js';
import { CameraRuntime, type CameraFrame, type CameraSink } from './camera-runtime.js';
import { endTracksOfOtherCameras } from './restart-ends.js';
import { DetectSwitches } from './detect-switches.js';
import type { Snapshot, SnapshotOutlet } from '../snapshots/index.js';
import type { ClipsPart } from '../clips/index.js';

export interface CameraSetDeps {
  /** The loaded model's input: every camera's ffmpeg scales and pads to it. */
  input: () => InputSpec;
  deviceId: string;
  modelVersion: () => string;
  stateDir: string;
  sink: CameraSink;
  /** Where snapshots go (MQTT, the hub); cameras make none without it. */
  snapshots?: SnapshotOutlet;
  /** The clip recorders; cameras with `clips.enabled` get one as they start. */
  clips?: ClipsPart;
  scheduler: FrameScheduler<CameraFrame>;
  metrics: AgentMetrics;
  logger: Logger;
  /** The ffmpeg every camera spawns (resolveFfmpeg); default `ffmpeg` on PATH. */
  ffmpegPath?: string;
  onStateChange: () => void;
}

/**
 * The agent's cameras: one CameraRuntime (ffmpeg source, filters, tracker) per enabled camera,
 * feeding the scheduler. Starts and stops them, applies a reload's camera changes, and answers
 * for them in the state, the health report and the stats.
 */
export class CameraSet {
  private readonly cameras = new Map<string, CameraRuntime>();
  /** Cameras that could not be started (a reload with a bad camera), by name. */
  private readonly problems = new Map<string, string>();
  /** The newest frame per camera: what a new model is smoke-tested on before it serves. */
  private readonly newest = new Map<string, Frame>();
  private readonly switches = new DetectSwitches();

  constructor(private readonly deps: CameraSetDeps) {}

  /**
   * Starts every enabled camera (each ends the tracks a crash left open); a camera that cannot
   * start fails the agent's start. Then the tracks left open by cameras no longer run end too.
   */
  async startAll(cameras: readonly CameraConfig[]): Promise<void> {
    for (const camera of cameras.filter((c) => c.enabled)) await this.add(camera, 'throw');
    endTracksOfOtherCameras(this.deps.stateDir, this.names(), this.deps);
  }

  /** Shutdown: every source stops, then every open track ends (its `end` goes to the sink). */
  async stopAll(): Promise<void> {
    await Promise.allSettled([...this.cameras.values()].map((c) => c.stop()));
    for (const runtime of this.cameras.values()) runtime.flush();
    this.deps.onStateChange();
  }

  /** A reload's camera changes: removed ones stop, changed ones restart, new ones start. */
  async apply(plan: ReloadPlan): Promise<void> {
    for (const name of plan.remove) {
      await this.remove(name);
      this.switches.forget(name);
    }
    for (const camera of plan.restart) {
      await this.remove(camera.name);
      await this.add(camera, 'record');
    }
    for (const camera of plan.add) await this.add(camera, 'record');
  }

  /** Whether the pipeline a frame was scheduled with still serves its camera (not stopped or replaced by a reload). */
  isCurrent(pipeline: CameraRuntime): boolean {
    return this.cameras.get(pipeline.config.name) === pipeline;
  }

  /**
   * Detection on or off for one running camera (false when there is no such camera). While off,
   * its source keeps streaming (the camera stays watched and comes back at once) but no frame
   * goes to inference, and its open tracks end now: nothing is seen, so nothing is there.
   */
  setDetection(name: string, on: boolean): boolean {
    const runtime = this.cameras.get(name);
    if (!runtime) return false;
    if (!this.switches.set(name, on)) return true;
    // The one frame that may wait in the scheduler still goes through (it cannot confirm a track on its own).
    if (!on) runtime.flush();
    else runtime.resumeDetection();
    this.deps.onStateChange();
    return true;
  }

  detecting(name: string): boolean {
    return this.switches.isOn(name);
  }

  /** The settings of every running camera, in start order. */
  configs(): CameraConfig[] {
    return [...this.cameras.values()].map((rt) => rt.config);
  }

  recentFrames(): Frame[] {
    return [...this.newest.values()];
  }

  /**
   * A camera's snapshot by event id or label (see CameraSnapshots.find), rendered as asked (the
   * camera's drawBox and crop where not said); undefined when the camera or the picture is unknown.
   */
  async snapshot(camera: string, key: string, options: { drawBox?: boolean; crop?: boolean } = {}): Promise<{ jpeg: Buffer; snapshot: Snapshot } | undefined> {
    const snapshots = this.cameras.get(camera)?.snapshots;
    const snapshot = snapshots?.find(key);
    if (!snapshots || !snapshot) return undefined;
    return { jpeg: await snapshots.render(snapshot, options), snapshot };
  }

  names(): string[] {
    return [...this.cameras.keys()];
  }

  private async add(camera: CameraConfig, onError: 'throw' | 'record'): Promise<void> {
    const { deps } = this;
    let runtime: CameraRuntime;
    try {
      const clips = await deps.clips?.forCamera(camera);
      runtime = new CameraRuntime(camera, {
        input: deps.input(),
        deviceId: deps.deviceId,
        modelVersion: deps.modelVersion,
        stateDir: deps.stateDir,
        logger: deps.logger.child({ camera: camera.name }),
        ...(deps.ffmpegPath !== undefined && { ffmpegPath: deps.ffmpegPath }),
        sink: deps.sink,
        ...(deps.snapshots && { snapshots: deps.snapshots }),
        ...(clips && { clips }),
        onFrame: (scheduled) => {
          this.newest.set(camera.name, scheduled.frame);
          deps.metrics.framesIn.inc({ camera: camera.name });
          // Detection switched off: the frame is read (the source stays healthy) and goes no further.
          if (!this.switches.isOn(camera.name)) {
            deps.metrics.framesDropped.inc({ camera: camera.name, reason: 'detection_off' });
            return;
          }
          // Motion gating: nothing moved and no track needs the frame.
          if (!scheduled.pipeline.gate(scheduled.frame).infer) {
            deps.metrics.framesSkipped.inc({ camera: camera.name, reason: 'no_motion' });
            return;
          }
          deps.scheduler.push(scheduled);
        },
        onStateChange: deps.onStateChange,
      });
    } catch (err) {
      await deps.clips?.release(camera.name);
      if (onError === 'throw') throw err;
      this.problems.set(camera.name, `camera ${camera.name} not started: ${(err as Error).message}`);
      deps.logger.error({ camera: camera.name, err: (err as Error).message }, 'camera not started');
      return;
    }
    this.problems.delete(camera.name);
    this.cameras.set(camera.name, runtime);
    await runtime.start();
  }

  /** Stops one camera: its source, its open tracks (their `end` events go out), its frame slot. */
  private async remove(name: string): Promise<void> {
    this.problems.delete(name);
    const runtime = this.cameras.get(name);
    if (!runtime) return;
    await runtime.stop();
    runtime.flush();
    // After the flush: the objects it ended get their clips from what was recorded.
    await this.deps.clips?.release(name);
    // The last look at its totals, before another runtime takes the name.
    this.deps.metrics.refresh();
    if (this.deps.scheduler.stats()[name]?.pending) this.deps.metrics.framesDropped.inc({ camera: name, reason: 'stopped' });
    this.deps.scheduler.removeCamera(name);
    this.cameras.delete(name);
    this.newest.delete(name);
  }

  statuses(): Record<string, CameraStatus> {
    return Object.fromEntries([...this.cameras].map(([name, rt]) => [name, rt.cameraStatus()]));
  }

  degraded(): string[] {
    const reasons = [...this.problems.values()];
    for (const [name, rt] of this.cameras) {
      const s = rt.cameraStatus();
      if (s.state === 'failed' || s.state === 'stalled') reasons.push(`camera ${name} ${s.state}${s.lastError ? `: ${s.lastError}` : ''}`);
      // Between retries an outage passes through `connecting`: still degraded, not a fresh start.
      else if (s.state === 'connecting' && s.lastError) reasons.push(`camera ${name} reconnecting after: ${s.lastError}`);
    }
    return reasons;
  }

  /** Whether any camera delivers frames to inference now (inference is judged only while it has work). */
  anyStreaming(): boolean {
    return [...this.cameras].some(([name, rt]) => rt.source.status().state === 'streaming' && this.switches.isOn(name));
  }

  /** Each camera's source as the health report and the watchdog see it. */
  sources(): { name: string; state: CameraStatus['state']; lastError?: string; since: number; lastFrameAt?: number; restarts: number }[] {
    return [...this.cameras].map(([name, rt]) => {
      const s = rt.source.status();
      return { name, state: s.state, lastError: s.lastError, since: s.since, lastFrameAt: s.lastFrameAt, restarts: s.counters.restarts };
    });
  }

  metricsCameras(): MetricsSnapshot['cameras'] {
    const queues = this.deps.scheduler.stats();
    return [...this.cameras].map(([name, rt]) => {
      const s = rt.source.status();
      const snapshots = rt.snapshots?.counters;
      const clips = rt.clips;
      return {
        name, owner: rt, state: s.state, sourceRestarts: s.counters.restarts, framesSuperseded: queues[name]?.dropped ?? 0,
        ...(snapshots && { snapshots: { ...snapshots } }),
        ...(clips && { clips: { ...clips.counters, recorderRestarts: clips.recorderStatus().restarts } }),
      };
    });
  }

  /** Per-camera rates over the interval since the last call. */
  takeStats(intervalSeconds: number): Record<string, CameraStats> {
    const queues = this.deps.scheduler.stats();
    return Object.fromEntries([...this.cameras].map(([name, rt]) => [name, rt.takeStats(intervalSeconds, queues[name]?.pending ? 1 : 0, queues[name]?.dropped ?? 0)]));
  }
}

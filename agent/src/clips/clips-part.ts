import type { Logger } from '@kestrel/core';
import type { CameraConfig } from '@kestrel/config';
import type { Part } from '../lifecycle/parts.js';
import { CameraClips, type ClipNotice } from './camera-clips.js';

export interface ClipsPartDeps {
  stateDir: string;
  ffmpegPath: string;
  /** Where a finished clip is announced (the `clip` topic, through the outbox). */
  onClip: (clip: ClipNotice) => void;
  logger: Logger;
}

/**
 * The agent's clip recorders, one per camera with `clips.enabled`. It joins the parts list before
 * the cameras, so it stops after them: by then every camera has ended its open objects, and each
 * recorder is stopped (ffmpeg closes its segment) before the clips still waiting are made from
 * what it recorded. A camera's recorder starts and stops with the camera, reloads included.
 */
export class ClipsPart implements Part {
  readonly name = 'clips';
  private readonly cameras = new Map<string, CameraClips>();
  /** Cameras whose recorder could not start (an unwritable state folder), by name. */
  private readonly problems = new Map<string, string>();
  private stopping = false;

  constructor(private readonly deps: ClipsPartDeps) {}

  start(): void {}

  /**
   * Starts the camera's recorder when its config asks for clips; undefined when it does not, or
   * when it cannot start (then the camera detects without clips, and `degraded` says why).
   */
  async forCamera(camera: CameraConfig): Promise<CameraClips | undefined> {
    this.problems.delete(camera.name);
    if (!camera.clips.enabled || this.stopping) return undefined;
    const source = camera.source;
    if (source.type !== 'rtsp' && source.type !== 'file') {
      // The config refuses this; a camera built some other way is told in the log, not crashed.
      this.deps.logger.warn({ camera: camera.name, source: source.type }, 'clips need an rtsp or file source; this camera records none');
      return undefined;
    }
    await this.release(camera.name);
    const clips = new CameraClips(camera.name, camera.clips, source, {
      stateDir: this.deps.stateDir,
      ffmpegPath: this.deps.ffmpegPath,
      onClip: this.deps.onClip,
      logger: this.deps.logger.child({ camera: camera.name, part: 'clips' }),
    });
    try {
      await clips.start();
    } catch (err) {
      const problem = `camera ${camera.name} records no clips: ${(err as Error).message}`;
      this.problems.set(camera.name, problem);
      this.deps.logger.error({ camera: camera.name, err: (err as Error).message, dir: clips.dir }, 'clip recorder not started');
      await clips.stop(0);
      return undefined;
    }
    this.cameras.set(camera.name, clips);
    return clips;
  }

  /** A camera stopped (reload, removal): its recorder stops and its waiting clips are made. */
  async release(name: string, timeoutMs?: number): Promise<void> {
    this.problems.delete(name);
    const clips = this.cameras.get(name);
    if (!clips) return;
    this.cameras.delete(name);
    await clips.stop(timeoutMs);
  }

  get(name: string): CameraClips | undefined {
    return this.cameras.get(name);
  }

  /** A finished clip's file by camera and event id. */
  find(camera: string, trackId: string): string | undefined {
    return this.cameras.get(camera)?.find(trackId);
  }

  /** A third of what is left of the stop budget: the publisher, after this, flushes the clip notices. */
  async stop(timeoutMs: number): Promise<void> {
    this.stopping = true;
    await Promise.allSettled([...this.cameras.keys()].map((name) => this.release(name, Math.max(500, timeoutMs / 3))));
  }

  degraded(): string[] {
    return [...this.problems.values(), ...[...this.cameras.values()].flatMap((c) => c.degraded())];
  }
}

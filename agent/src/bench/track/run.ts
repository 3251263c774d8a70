import type { Detection } from '@kestrel/core/detect/types';
import { KestrelError, printJson } from '@kestrel/core';
import { checkConfig, loadConfig, type CameraConfig } from '@kestrel/config';
import { ObjectTracker } from '../../track/object-tracker.js';
import { BaselineTracker } from './baseline-tracker.js';
import { combineScores, scoreTracking, type EvalFrame, type Labelled, type TrackingScores } from './metrics.js';
import { NoisyDetector } from './noisy-detector.js';
import { benchScenes, truthAt, type Scene } from './scenes.js';

export interface TrackBenchFlags {
  seed: string;
  seconds: string;
  config?: string;
  camera?: string;
  json?: boolean;
}

/** One tracker on one scene: the metrics and how many `new` events it sent. */
export interface TrackerResult extends TrackingScores {
  newTracks: number;
  /** `new` events per true object (1 is one event per object). */
  newPerObject: number;
  /** Time the tracker took per frame, filters and events included (this machine, this run). */
  msPerFrame: number;
}

export interface SceneResult {
  scene: string;
  about: string;
  frames: number;
  current: TrackerResult;
  baseline: TrackerResult;
}

export interface TrackBenchReport {
  seed: number;
  secondsPerScene: number;
  scenes: SceneResult[];
  total: { current: TrackerResult; baseline: TrackerResult };
}

/** The issue's targets for the current tracker on the bench set. */
export const TARGETS = { idf1: 0.8, newPerObject: 1.2 };

/** Runs the bench set (deterministic for a seed) through the camera's tracker and the old one. */
export function benchTracking(options: { seed: number; seconds: number; camera?: CameraConfig }): TrackBenchReport {
  const camera = options.camera ?? defaultCamera();
  const scenes = benchScenes(options.seed, options.seconds);
  const results = scenes.map((scene, i) => {
    const detections = detectAll(scene, options.seed * 1000 + i);
    const truth = Array.from({ length: scene.frames }, (_, k) => truthAt(scene, k).map(({ id, box }) => ({ id, box })));
    return {
      scene: scene.name,
      about: scene.about,
      frames: scene.frames,
      current: result(truth, runCurrent(scene, detections, camera)),
      baseline: result(truth, runBaseline(scene, detections, camera)),
    };
  });
  const total = (which: 'current' | 'baseline'): TrackerResult => {
    const scores = combineScores(results.map((r) => r[which]));
    const newTracks = results.reduce((a, r) => a + r[which].newTracks, 0);
    const frames = results.reduce((a, r) => a + r.frames, 0);
    const msPerFrame = results.reduce((a, r) => a + r[which].msPerFrame * r.frames, 0) / Math.max(1, frames);
    return { ...scores, newTracks, newPerObject: newTracks / Math.max(1, scores.trueObjects), msPerFrame };
  };
  return { seed: options.seed, secondsPerScene: options.seconds, scenes: results, total: { current: total('current'), baseline: total('baseline') } };
}

/** `kestrel bench track`. */
export async function runTrackBench(flags: TrackBenchFlags): Promise<number> {
  const seed = Number(flags.seed);
  const seconds = Number(flags.seconds);
  if (!Number.isInteger(seed)) throw new KestrelError('E_USAGE', `--seed: expected a whole number, got ${flags.seed}`);
  if (!(seconds >= 5 && seconds <= 3600)) throw new KestrelError('E_USAGE', `--seconds: expected 5-3600, got ${flags.seconds}`);
  const report = benchTracking({ seed, seconds, camera: flags.config ? configuredCamera(flags.config, flags.camera) : undefined });
  if (flags.json) printJson(report);
  else process.stdout.write(formatReport(report));
  return 0;
}

function formatReport(report: TrackBenchReport): string {
  const head = `${'scene'.padEnd(14)} ${'tracker'.padEnd(9)} ${'MOTA'.padStart(6)} ${'IDF1'.padStart(6)} ${'IDsw'.padStart(5)} ${'frag'.padStart(5)} ${'new/objects'.padStart(14)} ${'ms/frame'.padStart(9)}`;
  const line = (scene: string, name: string, r: TrackerResult) =>
    `${scene.padEnd(14)} ${name.padEnd(9)} ${r.mota.toFixed(3).padStart(6)} ${r.idf1.toFixed(3).padStart(6)} ${String(r.idSwitches).padStart(5)} ${String(r.fragmentations).padStart(5)} ${`${r.newTracks}/${r.trueObjects} (${r.newPerObject.toFixed(2)})`.padStart(14)} ${r.msPerFrame.toFixed(3).padStart(9)}`;
  const rows = report.scenes.flatMap((s) => [line(s.scene, 'current', s.current), line('', 'old', s.baseline)]);
  const c = report.total.current;
  const met = c.idf1 >= TARGETS.idf1 && c.newPerObject <= TARGETS.newPerObject;
  return [
    `Tracking bench: ${report.scenes.length} synthetic street scenes of ${report.secondsPerScene} s at 10 fps, noisy detector seed ${report.seed} (IoU ≥ 0.5 matching)`,
    head,
    ...rows,
    line('all', 'current', c),
    line('', 'old', report.total.baseline),
    `targets (current): IDF1 ≥ ${TARGETS.idf1}, new/objects ≤ ${TARGETS.newPerObject}: ${met ? 'met' : 'NOT met'}`,
    '',
  ].join('\n');
}

function detectAll(scene: Scene, seed: number): Detection[][] {
  const detector = new NoisyDetector(scene, seed);
  return Array.from({ length: scene.frames }, (_, k) => detector.detect(truthAt(scene, k)));
}

interface Run {
  tracks: Labelled[][];
  newTracks: number;
  ms: number;
}

function runCurrent(scene: Scene, detections: Detection[][], camera: CameraConfig): Run {
  const tracker = new ObjectTracker({ camera: 'bench', filters: camera.filters, tracker: camera.tracker });
  let newTracks = 0;
  let ms = 0;
  const tracks = detections.map((dets, k) => {
    const start = performance.now();
    newTracks += tracker.update(dets, frameTime(scene, k)).filter((e) => e.type === 'new').length;
    ms += performance.now() - start;
    return tracker.visibleTracks().map((t) => ({ id: t.id, box: t.box }));
  });
  return { tracks, newTracks, ms };
}

/** The old behaviour as the agent configured it: minScore to match first, 0.1 to continue, 2 s of frames lost. */
function runBaseline(scene: Scene, detections: Detection[][], camera: CameraConfig): Run {
  const lowScore = Math.min(0.1, camera.filters.minScore);
  const tracker = new BaselineTracker({
    minHits: camera.tracker.minHits,
    maxAge: Math.max(1, Math.round(scene.fps * 2)),
    matchIou: camera.tracker.iouThreshold,
    highScore: camera.filters.minScore,
    lowScore,
  });
  let newTracks = 0;
  let ms = 0;
  const tracks = detections.map((dets, k) => {
    const start = performance.now();
    newTracks += tracker.update(dets.filter((d) => d.score >= lowScore), frameTime(scene, k)).confirmed.length;
    ms += performance.now() - start;
    return tracker.active.filter((t) => t.confirmed && t.missed === 0).map((t) => ({ id: t.id, box: t.box }));
  });
  return { tracks, newTracks, ms };
}

function result(truth: Labelled[][], run: Run): TrackerResult {
  const frames: EvalFrame[] = truth.map((t, k) => ({ truth: t, tracks: run.tracks[k] }));
  const scores = scoreTracking(frames);
  return { ...scores, newTracks: run.newTracks, newPerObject: run.newTracks / Math.max(1, scores.trueObjects), msPerFrame: run.ms / Math.max(1, truth.length) };
}

function frameTime(scene: Scene, k: number): number {
  return 1_700_000_000_000 + Math.round((k * 1000) / scene.fps);
}

/** The defaults a 10 fps camera gets from the config. */
function defaultCamera(): CameraConfig {
  const check = checkConfig({ text: 'cameras: [{ name: bench, source: { type: demo }, fps: 10 }]' }, {});
  if (!check.ok) throw new Error(`bench camera config: ${check.errors.map((e) => e.message).join('; ')}`);
  return check.config.cameras[0];
}

function configuredCamera(path: string, name?: string): CameraConfig {
  const config = loadConfig(path);
  const camera = name ? config.cameras.find((c) => c.name === name) : config.cameras[0];
  if (!camera) throw new KestrelError('E_USAGE', `--camera: no camera "${name}" in ${path} (cameras: ${config.cameras.map((c) => c.name).join(', ')})`);
  return camera;
}

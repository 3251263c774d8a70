import type { Command } from 'commander';
import { Detector, KestrelError, action, isKestrelError, printJson, table } from '@kestrel/core';
import { addModelOptions, modelLoadOptions, unitInterval, positiveInt, type ModelFlags } from '../model-options.js';
import { PredictOutputs } from '../predict/outputs.js';
import { resolveSources, sourceName } from '../predict/sources.js';
import { predictImage, predictVideo, type FrameLimits } from '../predict/run.js';
import type { FailedReport, FrameReport, ImageReport, VideoReport } from '../predict/report.js';

interface DetectFlags extends ModelFlags {
  score?: string;
  iou?: string;
  max?: string;
  out?: string;
  project: string;
  name: string;
  existOk?: boolean;
  save: boolean;
  saveTxt?: boolean;
  saveConf?: boolean;
  vidStride: string;
  maxFrames?: string;
  duration?: string;
  rtspTransport: string;
  json?: boolean;
}

/** Exit status when some inputs failed and the others were processed. */
const EXIT_SOME_FAILED = 1;

export function registerDetectCommand(program: Command): void {
  const cmd = program
    .command('detect')
    .alias('predict')
    .description(
      'detect objects in images, folders, globs, videos and streams; print them and write annotated images, YOLO labels and a JSON summary to a new run folder (runs/detect/predict, predict2, ...)',
    )
    .argument('<sources...>', "image or video files, folders, quoted globs ('shots/*.jpg'), rtsp:// or http(s):// streams")
    .option('--score <s>', 'minimum score, 0..1', '0.25')
    .option('--iou <t>', 'NMS IoU threshold, 0..1', '0.5')
    .option('--max <n>', 'at most this many detections per image', '100')
    .option('--project <dir>', 'where run folders go', 'runs/detect')
    .option('--name <name>', 'run folder name; name2, name3, ... when taken', 'predict')
    .option('--exist-ok', 'write into an existing run folder instead of making name2')
    .option('-o, --out <dir>', 'write into exactly this folder (instead of --project/--name)')
    .option('--no-save', 'do not write annotated images')
    .option('--save-txt', 'write YOLO labels (class cx cy w h, 0..1) to labels/<name>.txt')
    .option('--save-conf', 'with --save-txt: add each score to its label line')
    .option('--vid-stride <n>', 'videos and streams: run the model on every n-th frame', '1')
    .option('--max-frames <n>', 'videos and streams: stop after the model saw this many frames of each')
    .option('--duration <seconds>', 'videos and streams: stop reading each this many seconds after its first frame')
    .option('--rtsp-transport <t>', 'tcp or udp, for rtsp:// streams', 'tcp')
    .option('--json', 'print one JSON document on stdout')
    .addHelpText(
      'after',
      '\nA stream is read until --max-frames, --duration or Ctrl-C. An input that cannot be read is skipped with a warning while the others are processed; ' +
        'the exit status is then 1 (2 for a usage error, or when the only input given fails).',
    );
  addModelOptions(cmd);
  cmd.action(action(async (args: string[], flags: DetectFlags) => {
    const detectOptions = {
      scoreThreshold: unitInterval(flags.score, '--score')!,
      iouThreshold: unitInterval(flags.iou, '--iou')!,
      maxDetections: positiveInt(flags.max, '--max')!,
    };
    if (flags.rtspTransport !== 'tcp' && flags.rtspTransport !== 'udp') throw new KestrelError('E_USAGE', `--rtsp-transport must be tcp or udp, got "${flags.rtspTransport}"`);
    const limits: FrameLimits = {
      stride: positiveInt(flags.vidStride, '--vid-stride')!,
      maxFrames: positiveInt(flags.maxFrames, '--max-frames'),
      durationMs: flags.duration === undefined ? undefined : positiveSeconds(flags.duration) * 1000,
      rtspTransport: flags.rtspTransport,
    };
    const { sources, problems } = resolveSources(args);
    // One input named on its own behaves as it always has: its error is the command's (exit 2).
    const single = sources.length + problems.length === 1;
    if (single && problems.length === 1) throw problems[0].error;
    const load = modelLoadOptions(flags);
    const detector = await Detector.load(load.path, { providers: load.providers, threads: load.threads, overrides: load.overrides });
    const outputs = new PredictOutputs({ out: flags.out, project: flags.project, name: flags.name, existOk: Boolean(flags.existOk), saveImages: flags.save, saveTxt: Boolean(flags.saveTxt), saveConf: Boolean(flags.saveConf) });
    const images: ImageReport[] = [];
    const videos: VideoReport[] = [];
    const failed: FailedReport[] = problems.map((p) => ({ source: p.source, error: { code: p.error.code, message: p.error.message } }));
    for (const p of problems) warnSkipped(p.source, p.error.message);

    // Ctrl-C ends the stream (or video) being read and writes everything so far; a second one kills.
    const interrupt = new AbortController();
    const onSigint = () => {
      if (interrupt.signal.aborted) process.exit(130);
      interrupt.abort();
    };
    process.on('SIGINT', onSigint);
    try {
      for (const source of sources) {
        if (interrupt.signal.aborted) break;
        const name = sourceName(source);
        try {
          if (source.kind === 'image') {
            const report = await predictImage(detector, source.path, detectOptions, outputs);
            images.push(report);
            if (!flags.json) printImage(report);
          } else {
            if (source.kind === 'stream' && limits.maxFrames === undefined && limits.durationMs === undefined && !flags.json) {
              process.stderr.write(`reading ${name} until Ctrl-C (--max-frames or --duration end it by themselves)\n`);
            }
            const report = await predictVideo(detector, source, detectOptions, limits, outputs, interrupt.signal, flags.json ? undefined : printFrame);
            videos.push(report);
          }
        } catch (err) {
          if (!isKestrelError(err) || single) throw err;
          failed.push({ source: name, error: { code: err.code, message: err.message } });
          warnSkipped(name, err.message);
        }
      }
    } finally {
      process.off('SIGINT', onSigint);
      await detector.close();
    }
    const summary = {
      ok: failed.length === 0,
      model: { path: load.path, name: detector.meta.name, version: detector.meta.version, decoder: detector.meta.decoder, sha256: detector.sha256 },
      provider: detector.provider,
      ...(outputs.dir && { runDir: outputs.dir }),
      images,
      videos,
      failed,
    };
    const summaryPath = outputs.writeSummary(summary);
    if (flags.json) printJson(summary);
    else {
      const done = `${images.length} image${images.length === 1 ? '' : 's'}, ${videos.length} video${videos.length === 1 ? '' : 's'}/stream${videos.length === 1 ? '' : 's'}${failed.length ? `, ${failed.length} failed` : ''}`;
      process.stderr.write(`model ${detector.meta.name ?? load.path} on ${detector.provider}: ${done}${summaryPath ? `; results in ${outputs.dir}` : ''}\n`);
    }
    return failed.length > 0 ? EXIT_SOME_FAILED : 0;
  }));
}

function positiveSeconds(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new KestrelError('E_USAGE', `--duration must be a positive number of seconds, got "${value}"`);
  return n;
}

function warnSkipped(source: string, message: string): void {
  process.stderr.write(`kestrel: skipping ${source}: ${message}\n`);
}

function printImage(r: ImageReport): void {
  const rows = r.detections.map((d) => [d.label, d.score.toFixed(2), d.box.map((v) => Math.round(v)).join(', ')]);
  process.stdout.write(`${r.image} (${r.width}x${r.height}, ${r.timings.inferenceMs.toFixed(1)} ms): ${r.detections.length} objects\n`);
  if (rows.length) process.stdout.write(`${table(['label', 'score', 'box x1, y1, x2, y2'], rows, { rule: true })}\n`);
}

/** One line per frame, as `yolo predict` prints: `clip.mp4 frame 12 (640x360, 9.1 ms): 2 person, 1 dog`. */
function printFrame(source: string, width: number, height: number, f: FrameReport): void {
  const counts = new Map<string, number>();
  for (const d of f.detections) counts.set(d.label, (counts.get(d.label) ?? 0) + 1);
  const what = counts.size ? [...counts].map(([label, n]) => `${n} ${label}`).join(', ') : 'no objects';
  process.stdout.write(`${source} frame ${f.frame} (${width}x${height}, ${f.timings.inferenceMs.toFixed(1)} ms): ${what}\n`);
}

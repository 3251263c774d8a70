import { mkdir, writeFile } from 'node:fs/promises';
import { basename, extname, join } from 'node:path';
import type { Command } from 'commander';
import { Detector, action, annotateToJpeg, printJson, roundBox, table, type Detection } from '@kestrel/core';
import { addModelOptions, modelLoadOptions, unitInterval, positiveInt, type ModelFlags } from '../model-options.js';

interface DetectFlags extends ModelFlags {
  score?: string;
  iou?: string;
  max?: string;
  out: string;
  save: boolean;
  json?: boolean;
}

export interface ImageReport {
  image: string;
  width: number;
  height: number;
  annotated?: string;
  detections: { label: string; classId: number; score: number; box: [number, number, number, number] }[];
  timings: { preprocessMs: number; inferenceMs: number; decodeMs: number };
}

export function registerDetectCommand(program: Command): void {
  const cmd = program
    .command('detect')
    .description('detect objects in images; print them and write annotated JPEGs')
    .argument('<images...>', 'image files (JPEG, PNG, WebP, ...)')
    .option('--score <s>', 'minimum score, 0..1', '0.25')
    .option('--iou <t>', 'NMS IoU threshold, 0..1', '0.5')
    .option('--max <n>', 'at most this many detections per image', '100')
    .option('-o, --out <dir>', 'where annotated JPEGs go', 'runs/detect')
    .option('--no-save', 'do not write annotated images')
    .option('--json', 'print one JSON document on stdout');
  addModelOptions(cmd);
  cmd.action(action(async (images: string[], flags: DetectFlags) => {
    const scoreThreshold = unitInterval(flags.score, '--score')!;
    const iouThreshold = unitInterval(flags.iou, '--iou')!;
    const maxDetections = positiveInt(flags.max, '--max')!;
    const load = modelLoadOptions(flags);
    const detector = await Detector.load(load.path, { providers: load.providers, threads: load.threads, overrides: load.overrides });
    const reports: ImageReport[] = [];
    try {
      if (flags.save) await mkdir(flags.out, { recursive: true });
      for (const image of images) {
        const result = await detector.detect(image, { scoreThreshold, iouThreshold, maxDetections });
        const report: ImageReport = {
          image,
          width: result.width,
          height: result.height,
          detections: result.detections.map(toReport),
          timings: roundTimings(result.timings),
        };
        if (flags.save) {
          report.annotated = join(flags.out, `${basename(image, extname(image))}.jpg`);
          await writeFile(report.annotated, await annotateToJpeg(image, result.detections));
        }
        reports.push(report);
        if (!flags.json) printHuman(report);
      }
    } finally {
      await detector.close();
    }
    const summary = {
      ok: true,
      model: { path: load.path, name: detector.meta.name, version: detector.meta.version, decoder: detector.meta.decoder, sha256: detector.sha256 },
      provider: detector.provider,
      images: reports,
    };
    if (flags.json) printJson(summary);
    else process.stderr.write(`model ${detector.meta.name ?? load.path} on ${detector.provider}${flags.save ? `; annotated images in ${flags.out}` : ''}\n`);
  }));
}

function toReport(d: Detection): ImageReport['detections'][number] {
  return { label: d.label, classId: d.classId, score: Math.round(d.score * 1000) / 1000, box: roundBox(d.box) };
}

function roundTimings(t: ImageReport['timings']): ImageReport['timings'] {
  return { preprocessMs: +t.preprocessMs.toFixed(2), inferenceMs: +t.inferenceMs.toFixed(2), decodeMs: +t.decodeMs.toFixed(2) };
}

function printHuman(r: ImageReport): void {
  const rows = r.detections.map((d) => [d.label, d.score.toFixed(2), d.box.map((v) => Math.round(v)).join(', ')]);
  process.stdout.write(`${r.image} (${r.width}x${r.height}, ${r.timings.inferenceMs.toFixed(1)} ms): ${r.detections.length} objects\n`);
  if (rows.length) process.stdout.write(`${table(['label', 'score', 'box x1, y1, x2, y2'], rows, { rule: true })}\n`);
}


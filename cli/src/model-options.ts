import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { DECODERS, defaultInputSpec, KestrelError, parseProviders, type DecoderName, type KestrelMetadata, type ProviderName } from '@kestrel/core';
import { defaultModelPath } from './paths.js';

/** Flags shared by every command that loads a detection model. */
export interface ModelFlags {
  model?: string;
  providers?: string;
  threads?: string;
  decoder?: string;
  labels?: string;
  labelsFile?: string;
  imgsz?: string;
}

export function addModelOptions(cmd: Command): Command {
  return cmd
    .option('-m, --model <path>', 'ONNX model (default: the bundled NanoDet-416 COCO detector)')
    .option('--providers <list>', 'execution providers to try in order: tensorrt,cuda,cpu (default: all, first that loads)')
    .option('--threads <n>', 'ONNX Runtime intra-op threads (default: all cores)')
    .option('--decoder <name>', `for models without Kestrel metadata: ${DECODERS.join('|')}`)
    .option('--labels <list>', 'for models without metadata: class names, comma separated')
    .option('--labels-file <path>', 'for models without metadata: class names, one per line')
    .option('--imgsz <size>', 'for models without metadata: input size, N or WxH');
}

export function positiveInt(value: string | undefined, flag: string): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0) throw new KestrelError('E_USAGE', `${flag} must be a positive whole number, got "${value}"`);
  return n;
}

export function unitInterval(value: string | undefined, flag: string): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0 || n > 1) throw new KestrelError('E_USAGE', `${flag} must be a number between 0 and 1, got "${value}"`);
  return n;
}

export function parseImgsz(value: string): { width: number; height: number } {
  const m = /^(\d+)(?:x(\d+))?$/i.exec(value.trim());
  if (!m) throw new KestrelError('E_USAGE', `--imgsz must be N or WxH (e.g. 640 or 640x384), got "${value}"`);
  const width = Number(m[1]);
  const height = m[2] ? Number(m[2]) : width;
  if (width <= 0 || height <= 0 || width % 2 || height % 2) throw new KestrelError('E_USAGE', `--imgsz must be positive and even, got "${value}"`);
  return { width, height };
}

/** Metadata given on the command line, for models that lack it. */
export function metadataOverrides(flags: ModelFlags): Partial<KestrelMetadata> {
  const o: Partial<KestrelMetadata> = {};
  if (flags.decoder) {
    if (!(DECODERS as readonly string[]).includes(flags.decoder)) throw new KestrelError('E_USAGE', `--decoder must be one of ${DECODERS.join(', ')}, got "${flags.decoder}"`);
    o.decoder = flags.decoder as DecoderName;
  }
  if (flags.labels && flags.labelsFile) throw new KestrelError('E_USAGE', 'give --labels or --labels-file, not both');
  if (flags.labels) o.labels = flags.labels.split(',').map((s) => s.trim()).filter(Boolean);
  if (flags.labelsFile) {
    let text: string;
    try {
      text = readFileSync(flags.labelsFile, 'utf8');
    } catch (err) {
      throw new KestrelError('E_USAGE', `cannot read --labels-file ${flags.labelsFile}: ${(err as NodeJS.ErrnoException).code}`);
    }
    o.labels = text.split(/\r?\n/).map((s) => s.trim()).filter(Boolean);
  }
  if (flags.imgsz) {
    const { width, height } = parseImgsz(flags.imgsz);
    // Ultralytics exports take core's default input: letterboxed with grey padding, 0..1 scaling.
    o.input = defaultInputSpec(width, height);
  }
  return o;
}

export function modelLoadOptions(flags: ModelFlags): { path: string; providers?: ProviderName[]; threads?: number; overrides: Partial<KestrelMetadata> } {
  return {
    path: flags.model ?? defaultModelPath(),
    providers: flags.providers ? parseProviders(flags.providers) : undefined,
    threads: positiveInt(flags.threads, '--threads'),
    overrides: metadataOverrides(flags),
  };
}

// `kestrel quantize`: the command-line face of quantizeModel. The CLI package calls
// registerQuantizeCommands(program) when the quantize part is installed.
import type { Command } from 'commander';
import cliProgress from 'cli-progress';
import { writeFileAtomic } from '@kestrel/core/onnx/io';
import { KestrelError } from '@kestrel/core/util/errors';
import { action, printJson } from '@kestrel/core/util/cli';
import { quantizeModel, DEFAULT_METHOD, DEFAULT_MAX_CALIBRATION_IMAGES, type QuantizeResult } from './quantize.js';
import { PROFILES, type QuantizeProgress, type QuantizeProfile } from './options.js';
import { CALIBRATION_METHODS, type CalibrationMethod } from './calib/calibrators.js';
import { formatReport } from './report/format.js';

interface QuantizeFlags {
  calib?: string;
  output?: string;
  method: string;
  perChannel: boolean;
  reduceRange?: boolean;
  profile: string;
  exclude?: string[];
  report?: string;
  json?: boolean;
  threads?: string;
  maxImages: string;
  bench: boolean;
  rounds: string;
}

/** Version of the report document's shape, for scripts that read --report / --json. */
export const REPORT_SCHEMA = 1;

export function registerQuantizeCommands(program: Command): void {
  program
    .command('quantize')
    .description('static INT8 quantization (QDQ) of an ONNX detector, calibrated on your frames, with an accuracy and speed report')
    .argument('<model>', 'FP32 ONNX model')
    .option('--calib <dir>', 'calibration images: a folder of JPEG/PNG, or the agent\'s frames buffer')
    .option('-o, --output <file>', 'where the INT8 model goes')
    .option('--method <method>', `calibration: ${CALIBRATION_METHODS.join(' | ')}`, DEFAULT_METHOD)
    .option('--per-channel', 'one weight scale per output channel', true)
    .option('--no-per-channel', 'one weight scale per tensor')
    .option('--reduce-range', '7-bit weights, for x86 CPUs without VNNI if INT8 loses accuracy only there')
    .option('--profile <profile>', `target runtime: ${PROFILES.join(' | ')}`, 'ort-cpu')
    .option('--exclude <names...>', 'node names or op types to keep in float (space or comma separated)')
    .option('--report <file>', 'write the report as JSON')
    .option('--json', 'print the report as one JSON document on stdout')
    .option('--threads <n>', 'ONNX Runtime threads for timing (default 1) and calibration (default: all cores)')
    .option('--max-images <n>', 'calibrate on at most this many images', String(DEFAULT_MAX_CALIBRATION_IMAGES))
    .option('--no-bench', 'skip the FP32 vs INT8 timing')
    .option('--rounds <n>', 'alternating timing rounds', '3')
    // Its error lines have always named the command: `kestrel quantize: …`.
    .action(action((model: string, flags: QuantizeFlags) => runQuantize(model, flags), { nameCommand: true }));
}

async function runQuantize(model: string, flags: QuantizeFlags): Promise<void> {
  if (!flags.output) throw new KestrelError('E_QUANT_OPTION', 'give the output model path with -o <out.onnx>');
  if (!flags.calib) throw new KestrelError('E_CALIB_MISSING', 'give calibration images with --calib <folder | frames buffer>');
  const threads = flags.threads === undefined ? undefined : positiveInt(flags.threads, '--threads');
  const progress = new ProgressBars();
  let result: QuantizeResult;
  try {
    result = await quantizeModel(model, {
      output: flags.output,
      calib: flags.calib,
      method: flags.method as CalibrationMethod,
      profile: flags.profile as QuantizeProfile,
      perChannel: flags.perChannel,
      reduceRange: flags.reduceRange,
      exclude: (flags.exclude ?? []).flatMap((e) => e.split(',')).map((e) => e.trim()).filter(Boolean),
      threads,
      maxCalibrationImages: positiveInt(flags.maxImages, '--max-images'),
      benchmark: flags.bench ? { rounds: positiveInt(flags.rounds, '--rounds') } : false,
      onProgress: (p) => progress.update(p),
    });
  } finally {
    progress.stop();
  }
  const document = { schema: REPORT_SCHEMA, ok: true, ...result };
  if (flags.report) await writeFileAtomic(flags.report, new TextEncoder().encode(`${JSON.stringify(document, null, 2)}\n`));
  if (flags.json) printJson(document);
  else process.stderr.write(`${formatReport(result)}\n`);
}

function positiveInt(value: string, flag: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new KestrelError('E_QUANT_OPTION', `${flag} must be a positive integer, got "${value}"`);
  return n;
}

const PHASE_LABELS: Record<QuantizeProgress['phase'], string> = {
  calibrate: 'calibrating',
  verify: 'checking fusion',
  agreement: 'comparing FP32/INT8',
  benchmark: 'timing FP32/INT8',
};

/** One bar per phase on stderr; cli-progress prints nothing when stderr is not a terminal. */
class ProgressBars {
  private bar?: cliProgress.SingleBar;
  private phase?: QuantizeProgress['phase'];

  update(p: QuantizeProgress): void {
    if (p.phase !== this.phase) {
      this.stop();
      this.phase = p.phase;
      this.bar = new cliProgress.SingleBar(
        { format: `${PHASE_LABELS[p.phase].padEnd(20)} [{bar}] {value}/{total}`, stream: process.stderr, hideCursor: true, clearOnComplete: false },
        cliProgress.Presets.shades_classic,
      );
      this.bar.start(Math.max(p.total, p.done), p.done);
      return;
    }
    if (p.total > 0) this.bar?.setTotal(Math.max(p.total, p.done));
    this.bar?.update(p.done);
  }

  stop(): void {
    this.bar?.stop();
    this.bar = undefined;
  }
}

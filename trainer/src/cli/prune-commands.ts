// `kestrel prune`: structured channel pruning of a checkpoint at several sparsities, each pruned
// model fine-tuned, exported and quantized, with a table of size, speed (ONNX Runtime FP32 and
// INT8) and mAP against the original.
import type { Command } from 'commander';
import { KestrelError } from '@kestrel/core/util/errors';
import { action, printJson } from '@kestrel/core/util/cli';
import { CRITERIA } from '../prune/prune.js';
import { PRUNE_DEFAULTS, runPrune } from '../prune/run.js';
import { pruneTable } from '../prune/table.js';
import type { SplitName } from '../data/types.js';
import { int, num, positive } from './flags.js';

interface PruneFlags {
  data: string;
  sparsity?: string;
  criterion?: string;
  multiple?: string;
  epochs?: string;
  batch?: string;
  lr?: string;
  split?: string;
  threads?: string;
  trainThreads?: string;
  rounds?: string;
  iterations?: string;
  calib?: string;
  seed?: string;
  project?: string;
  name?: string;
  json?: boolean;
}

export function registerPruneCommands(program: Command): void {
  program
    .command('prune')
    .description('structured channel pruning: thin each prunable conv by BatchNorm scale or filter L1, fine-tune, export, quantize, and tabulate sparsity vs params, MACs, ONNX Runtime ms (FP32, INT8) and mAP; writes runs/prune/exp')
    .argument('<checkpoint>', 'checkpoint folder to prune (e.g. runs/train/exp/weights/best)')
    .requiredOption('--data <path>', 'dataset the checkpoint was trained on (fine-tuning, calibration, mAP)')
    .option('--sparsity <list>', `shares of each prunable layer's channels to remove, comma-separated, each in [0, 1) (default ${PRUNE_DEFAULTS.sparsities.join(',')}); 0, the original, is always measured`)
    .option('--criterion <c>', `channel importance: bn (|BatchNorm γ|, Network Slimming) or l1 (filter L1 norm) (default ${PRUNE_DEFAULTS.criterion})`)
    .option('--multiple <n>', `round each layer's kept channels up to a multiple of this, e.g. 8 for runtimes that work in channel blocks (default ${PRUNE_DEFAULTS.multiple}: the exact share)`)
    .option('--epochs <n>', `fine-tuning epochs per pruned model, 0 for none (default ${PRUNE_DEFAULTS.epochs})`)
    .option('--batch <n>', 'fine-tuning batch size (default as kestrel train)')
    .option('--lr <x>', 'fine-tuning peak learning rate (default as kestrel train)')
    .option('--split <s>', 'split the mAP is measured on: train | val | test (default test, or val without one)')
    .option('--threads <n>', `ONNX Runtime threads for the timing (default ${PRUNE_DEFAULTS.threads})`)
    .option('--train-threads <n>', 'data-parallel training threads (default as kestrel train)')
    .option('--rounds <n>', 'alternating timing rounds (default 3)')
    .option('--iterations <n>', 'timed runs per model per round (default 30)')
    .option('--calib <n>', `train images to calibrate INT8 on (default ${PRUNE_DEFAULTS.calibrationImages})`)
    .option('--seed <n>', 'seed of the splits (when the dataset has none) and of fine-tuning')
    .option('--project <dir>', `where the run folder goes (default ${PRUNE_DEFAULTS.project})`)
    .option('--name <name>', 'run folder name (default exp; exp2, ... when taken)')
    .option('--json', 'print one JSON document on stdout')
    .action(action(async (checkpoint: string, f: PruneFlags) => {
      const sparsities = f.sparsity?.split(',').map((s) => num(s.trim(), '--sparsity', (n) => n >= 0 && n < 1, 'a comma-separated list of shares, each in [0, 1)')!);
      if (sparsities && sparsities.length === 0) throw new KestrelError('E_USAGE', '--sparsity needs at least one share');
      if (f.criterion !== undefined && !(CRITERIA as readonly string[]).includes(f.criterion)) throw new KestrelError('E_USAGE', `--criterion must be ${CRITERIA.join(' or ')}, got "${f.criterion}"`);
      if (f.split !== undefined && !['train', 'val', 'test'].includes(f.split)) throw new KestrelError('E_USAGE', `--split must be train, val or test, got "${f.split}"`);
      const epochs = num(f.epochs, '--epochs', (n) => Number.isInteger(n) && n >= 0, 'a whole number (0: no fine-tuning)');
      const r = await runPrune({
        checkpoint, data: f.data, sparsities, criterion: f.criterion as 'bn' | 'l1' | undefined, multiple: int(f.multiple, '--multiple'), epochs,
        batch: int(f.batch, '--batch'), lr: positive(f.lr, '--lr'), split: f.split as SplitName | undefined, threads: int(f.threads, '--threads'), trainThreads: int(f.trainThreads, '--train-threads'),
        rounds: int(f.rounds, '--rounds'), iterations: int(f.iterations, '--iterations'), calibrationImages: int(f.calib, '--calib'),
        seed: num(f.seed, '--seed', Number.isInteger, 'an integer'), project: f.project, name: f.name, progress: f.json ? false : undefined,
      });
      if (f.json) printJson(r);
      else process.stdout.write(pruneTable(r) + '\n');
    }));
}

// `kestrel tune` (a hyperparameter search with k-fold validation) and `kestrel tune worker`
// (a process on another machine that takes trials from a search's PostgreSQL queue).
import { existsSync, readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { KestrelError } from '@kestrel/core/util/errors';
import { createLogger } from '@kestrel/core/util/log';
import { action, printJson } from '@kestrel/core/util/cli';
import { tune, trialsTable, TUNE_DEFAULTS } from '../tune/tune.js';
import { runWorker } from '../tune/runners.js';
import { parseSpace, DEFAULT_SPACE, type SearchSpace, type TunableName } from '../tune/space.js';
import { stripUndefined } from '../train/options.js';
import { int, num, positive } from './flags.js';

interface TuneFlags {
  data?: string;
  space?: string;
  trials?: string;
  folds?: string;
  epochs?: string;
  imgsz?: string;
  crop?: string;
  batch?: string;
  width?: string;
  time?: string;
  threads?: string;
  seed?: string;
  project?: string;
  name?: string;
  queue?: string;
  queueSchema?: string;
  work: boolean;
  trialTimeout?: string;
  json?: boolean;
}

export function registerTuneCommands(program: Command): void {
  const cmd = program
    .command('tune')
    .description('search training hyperparameters with k-fold cross-validation; writes a table, a plot and best.json for `kestrel train --params`')
    // Not requiredOption: Commander would then demand --data of `tune worker` too.
    .option('--data <path>', 'dataset: its folder or its data.yaml (with --queue, a path every worker sees)')
    .option('--space <json>', `search space: a JSON file or inline JSON, e.g. '{"lr":{"log":[1e-4,1e-2]},"width":{"choice":[0.25,0.5]}}' (default: ${JSON.stringify(DEFAULT_SPACE)})`)
    .option('--trials <n>', `trials to draw (default ${TUNE_DEFAULTS.trials})`)
    .option('--folds <k>', `cross-validation folds per trial (default ${TUNE_DEFAULTS.folds}); the test split is never used`)
    .option('--epochs <n>', `epochs per fold (default ${TUNE_DEFAULTS.base.epochs})`)
    .option('--imgsz <px>', 'input size of every trial (default 320)')
    .option('--crop <px>', 'train on crops of this size around objects, as `kestrel train --crop`')
    .option('--batch <n>', 'batch size (unless searched)')
    .option('--width <x>', 'detector width (unless searched)')
    .option('--time <minutes>', 'wall-clock minutes per fold (epochs cut to fit)')
    .option('--threads <n>', 'training threads per trial')
    .option('--seed <n>', 'seed for the drawn trials, the folds and training (default 0)')
    .option('--project <dir>', `where the search folder goes (default ${TUNE_DEFAULTS.project})`)
    .option('--name <name>', 'search folder name (default exp; exp2, ... when taken)')
    .option('--queue <postgres-url>', 'queue trials as jobs in PostgreSQL (pg-boss) so `kestrel tune worker` processes share them')
    .option('--queue-schema <name>', 'schema of the job tables (default kestrel_tune)')
    .option('--no-work', 'with --queue: only queue and wait; workers run every trial')
    .option('--trial-timeout <minutes>', 'with --queue: a trial running longer is handed to another worker (default 240)')
    .option('--json', 'print one JSON document on stdout')
    // `tune worker` has its own --queue: the search's options belong to `tune` only when given before `worker`.
    .enablePositionalOptions()
    .action(action(async (f: TuneFlags) => {
      if (!f.data) throw new KestrelError('E_USAGE', 'tune needs --data <dataset>');
      const space = f.space === undefined ? undefined : readSpace(f.space);
      const base = stripUndefined({
        epochs: int(f.epochs, '--epochs'), imgsz: int(f.imgsz, '--imgsz'), cropSize: int(f.crop, '--crop'), batch: int(f.batch, '--batch'), width: positive(f.width, '--width'),
        timeMinutes: positive(f.time, '--time'), threads: int(f.threads, '--threads'),
      });
      if (!f.queue && (f.queueSchema || f.trialTimeout || !f.work)) throw new KestrelError('E_USAGE', '--queue-schema, --trial-timeout and --no-work need --queue <postgres-url>');
      const r = await tune({
        data: f.data, space, base, trials: int(f.trials, '--trials'), folds: num(f.folds, '--folds', (n) => Number.isInteger(n) && n >= 2, 'a whole number ≥ 2'),
        seed: num(f.seed, '--seed', Number.isInteger, 'an integer'), project: f.project, name: f.name,
        queue: f.queue, queueSchema: f.queueSchema, work: f.work, trialTimeoutMinutes: positive(f.trialTimeout, '--trial-timeout'),
        logger: createLogger('tune'),
      });
      if (f.json) {
        printJson(r);
        return;
      }
      const names = Object.keys(space ?? DEFAULT_SPACE) as TunableName[];
      process.stdout.write(trialsTable(r.trials, names));
      process.stdout.write(r.best
        ? `best: trial ${r.best.index}, ${r.folds}-fold fitness ${r.best.fitness.toFixed(3)} ± ${r.best.fitnessStd.toFixed(3)} (mAP@0.5 ${r.best.map50.toFixed(3)}, mAP@0.5:0.95 ${r.best.map50to95.toFixed(3)})\ntrain with it: kestrel train --data ${f.data} --params ${r.bestFile}\n`
        : 'every trial failed; see trials.json for why\n');
      process.stdout.write(`search folder: ${r.runDir} (trials.csv, tune.png, best.json), ${r.seconds} s\n`);
    }));

  cmd
    .command('worker')
    .description('run trials from searches queued with `kestrel tune --queue`, until stopped (or idle for --idle-exit seconds)')
    .requiredOption('--queue <postgres-url>', 'the PostgreSQL database the searches queue their trials in')
    .option('--queue-schema <name>', 'schema of the job tables (default kestrel_tune)')
    .option('--search <id>', 'only this search (its id is in the search folder\'s search.json)')
    .option('--idle-exit <seconds>', 'exit after the queues have been empty this long')
    .option('--json', 'print one JSON document on stdout')
    .action(action(async (f: { queue: string; queueSchema?: string; search?: string; idleExit?: string; json?: boolean }) => {
      if (f.search !== undefined && !/^[0-9a-f]{12}$/.test(f.search)) throw new KestrelError('E_USAGE', `--search must be a search id (12 hex digits, from search.json), got "${f.search}"`);
      const controller = new AbortController();
      const stop = (): void => controller.abort();
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
      const idle = positive(f.idleExit, '--idle-exit');
      const r = await runWorker({ url: f.queue, schema: f.queueSchema, search: f.search, logger: createLogger('tune-worker'), idleExitMs: idle === undefined ? undefined : idle * 1000, signal: controller.signal });
      if (f.json) printJson(r);
      else process.stdout.write(`ran ${r.trials} trial(s)\n`);
    }));
}

/** --space: a file when one exists at that path, else inline JSON. */
function readSpace(value: string): SearchSpace {
  const isFile = existsSync(value);
  const text = isFile ? readFileSync(value, 'utf8') : value;
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new KestrelError('E_TUNE_SPACE', `--space ${isFile ? `file ${value}` : 'value'} is not JSON (${(err as Error).message})${isFile ? '' : '; give a file path or inline JSON'}`);
  }
  return parseSpace(parsed, '--space');
}

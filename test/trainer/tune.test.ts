// `kestrel tune`: a search space read from JSON with every mistake named, k-fold splits that
// validate each image exactly once and never touch the test split, a search run in this process
// (table, plot, best.json that `kestrel train --params` applies) and one whose trials are jobs on
// a PostgreSQL queue run by a `kestrel tune worker` process.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { execFile, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import pg from 'pg';
import sharp from 'sharp';
import { synthFactoryDataset } from '@kestrel/trainer/data/synth/factory';
import { loadDataset } from '@kestrel/trainer/data/dataset';
import { effectiveSplits } from '@kestrel/trainer/data/split';
import { createRng } from '@kestrel/trainer/data/rng';
import { kFoldSplits } from '@kestrel/trainer/tune/folds';
import { drawDistinct, parseSpace, applyParams } from '@kestrel/trainer/tune/space';
import { tune } from '@kestrel/trainer/tune/tune';
import { silentLogger } from '@kestrel/core/util/log';
import { tempDir } from './support/tmp.js';

const CLI = fileURLToPath(new URL('./support/kestrel-trainer-cli.ts', import.meta.url));
const PG_URL = process.env.KESTREL_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const tiny = { imgsz: 96, width: 0.25, batch: 4, valBatch: 4 } as const;

function run(args: string[]): Promise<{ stdout: string; stderr: string; exitCode: number }> {
  return new Promise((resolve) => {
    execFile(process.execPath, ['--conditions=kestrel-source', '--import', 'tsx', CLI, ...args], { env: { ...process.env, KESTREL_LOG_LEVEL: 'warn' } }, (err, stdout, stderr) => {
      resolve({ stdout, stderr, exitCode: err ? Number((err as { code?: number }).code ?? 1) : 0 });
    });
  });
}

test('a search space from JSON: each mistake is named by its key; draws are reproducible, in range and distinct', () => {
  const bad: Array<[unknown, RegExp]> = [
    [[], /space must be an object/],
    [{}, /names no parameter; tunable: lr, width/],
    [{ momentum: { log: [0.1, 0.9] } }, /space\.momentum: not a tunable parameter/],
    [{ lr: { log: [0, 0.1] } }, /space\.lr\.log\[0\] must be in \(0, 1\), got 0/],
    [{ lr: { log: [0.1, 0.01] } }, /space\.lr\.log must be \[lo, hi\] with lo ≤ hi/],
    [{ lr: { uniform: [0.1, 0.2], log: [0.1, 0.2] } }, /exactly one of log, uniform, choice/],
    [{ mosaic: { uniform: [0, 2] } }, /space\.mosaic\.uniform\[1\] must be in \[0, 1\], got 2/],
    [{ boxBins: { choice: [8, 1] } }, /space\.boxBins\.choice\[1\] must be 0 or a whole number from 2 to 32, got 1/],
    [{ batch: { choice: [] } }, /space\.batch\.choice needs at least one value/],
    [{ width: 0.5 }, /space\.width must be \{"log": \[lo, hi\]\}/],
  ];
  for (const [input, message] of bad) assert.throws(() => parseSpace(input), (err: Error & { code?: string }) => err.code === 'E_TUNE_SPACE' && message.test(err.message), JSON.stringify(input));

  const space = parseSpace({ lr: { log: [1e-4, 1e-2] }, mosaic: { uniform: [0.2, 0.8] }, boxBins: { choice: [0, 8] } });
  const a = drawDistinct(space, createRng(7), 12);
  assert.deepEqual(drawDistinct(space, createRng(7), 12), a, 'the same seed draws the same trials');
  assert.equal(new Set(a.map((p) => JSON.stringify(p))).size, 12, 'no point drawn twice');
  for (const p of a) {
    assert.ok(p.lr! >= 1e-4 && p.lr! <= 1e-2 && p.mosaic! >= 0.2 && p.mosaic! <= 0.8 && [0, 8].includes(p.boxBins!), JSON.stringify(p));
  }
  // Log-uniform: about as many draws below the geometric middle (1e-3) as above it.
  const lrs = drawDistinct(parseSpace({ lr: { log: [1e-4, 1e-2] } }), createRng(1), 400).map((p) => p.lr!);
  const below = lrs.filter((v) => v < 1e-3).length;
  assert.ok(below > 150 && below < 250, `log-uniform draws: ${below} of 400 below 1e-3`);
  // A space of choices only is a grid: asking for more trials than points gives each point once.
  const grid = drawDistinct(parseSpace({ boxBins: { choice: [0, 8, 16] }, fliplr: { choice: [0, 0.5] } }), createRng(0), 50);
  assert.equal(grid.length, 6);
  // Searched augmentation values land inside the training options' augment block.
  assert.deepEqual(applyParams({ data: 'd', augment: { flipUD: 0.5 } }, { mosaic: 0.3, lr: 0.01 }), { data: 'd', augment: { flipUD: 0.5, mosaic: 0.3 }, lr: 0.01 });
});

test('k folds: every train+val image validated exactly once, folds within one image in size, the test split never used', async () => {
  const dir = tempDir();
  await synthFactoryDataset(join(dir, 'ds'), { count: 23, seed: 2, size: 64 });
  const ds = loadDataset(join(dir, 'ds'));
  const base = effectiveSplits(ds, 0);
  const folds = kFoldSplits(ds, 3, 0);
  assert.equal(folds.length, 3);
  const vals = folds.map((f) => f.val);
  const pool = [...base.train, ...base.val].sort();
  assert.deepEqual(vals.flat().sort(), pool, 'the folds\' val sets partition train+val');
  assert.ok(Math.max(...vals.map((v) => v.length)) - Math.min(...vals.map((v) => v.length)) <= 1);
  for (const f of folds) {
    assert.deepEqual(f.test, base.test);
    assert.equal(f.train.filter((id) => f.val.includes(id) || f.test.includes(id)).length, 0, 'no image both trained on and validated');
    assert.equal(f.train.length + f.val.length, pool.length);
  }
  assert.deepEqual(kFoldSplits(ds, 3, 0), folds, 'the same seed deals the same folds');
  assert.throws(() => kFoldSplits(ds, 1), /--folds must be a whole number ≥ 2, got 1/);
  assert.throws(() => kFoldSplits(ds, 20), /--folds 20 needs at least 40 train\+val images/);
});

test('a search in this process ranks trials by k-fold fitness and writes a table, a plot and best.json that `kestrel train --params` applies', async () => {
  const dir = tempDir();
  const data = join(dir, 'ds');
  await synthFactoryDataset(data, { count: 24, seed: 3, size: 96 });
  // Two points far apart: a learning rate that learns and one that cannot move the weights.
  const r = await tune({
    data, space: parseSpace({ lr: { choice: [1e-7, 1e-2] } }), trials: 2, folds: 2, base: { ...tiny, epochs: 8 },
    project: join(dir, 'runs'), name: 'search', logger: silentLogger,
  });
  assert.equal(r.trials.length, 2);
  assert.ok(r.trials.every((t) => !t.error && t.folds.length === 2), JSON.stringify(r.trials.map((t) => t.error)));
  assert.ok(r.trials[0].fitness >= r.trials[1].fitness, 'best first');
  assert.equal(r.trials[0].params.lr, 1e-2, `the learning rate that learns wins: ${JSON.stringify(r.trials.map((t) => [t.params.lr, t.fitness]))}`);
  assert.ok(r.trials[0].fitness > 0 && r.trials[1].fitness === 0, `lr 1e-7 learns nothing in 8 epochs: ${r.trials.map((t) => t.fitness)}`);
  // Each fold validated on its own images: the run folders record the splits they trained on.
  const args = r.trials[0].folds.map((f) => JSON.parse(readFileSync(join(f.runDir, 'args.json'), 'utf8')) as { splits: { val: string[]; train: string[] }; lr: number });
  assert.equal(args[0].splits.val.filter((id) => args[1].splits.val.includes(id)).length, 0);
  assert.ok(args.every((a) => a.lr === 1e-2));
  // The table, the plot and the best file.
  const csv = readFileSync(join(r.runDir, 'trials.csv'), 'utf8').trim().split('\n');
  assert.equal(csv[0], 'rank,trial,lr,fitness,fitness_std,mAP50,mAP50-95,seconds,worker,error');
  assert.equal(csv.length, 3);
  assert.equal((await sharp(r.plot).metadata()).format, 'png');
  const best = JSON.parse(readFileSync(r.bestFile!, 'utf8'));
  assert.deepEqual(best.params, { lr: 1e-2 });
  assert.deepEqual(best.train, { ...tiny, epochs: 8, lr: 1e-2 });
  assert.equal(best.crossValidation.folds, 2);

  // `kestrel train --params`: the tuned options, with the flags given on the command line winning.
  const trained = await run(['train', '--data', data, '--params', r.bestFile!, '--epochs', '1', '--project', join(dir, 'runs'), '--name', 'final', '--json']);
  assert.equal(trained.exitCode, 0, trained.stderr);
  const finalArgs = JSON.parse(readFileSync(join(dir, 'runs', 'final', 'args.json'), 'utf8'));
  assert.deepEqual([finalArgs.lr, finalArgs.imgsz, finalArgs.width, finalArgs.epochs], [1e-2, 96, 0.25, 1]);
  const broken = await run(['train', '--data', data, '--params', join(dir, 'runs', 'search', 'trials.csv'), '--json']);
  assert.equal(broken.exitCode, 2);
  assert.match(JSON.parse(broken.stdout).error.message, /--params .*trials\.csv: not JSON/);
});

test('with --queue the trials are jobs in PostgreSQL: a `kestrel tune worker` process runs them and the search collects the results', async () => {
  const dir = tempDir();
  const data = join(dir, 'ds');
  await synthFactoryDataset(data, { count: 12, seed: 4, size: 64 });
  const schema = `kestrel_tune_test_${randomBytes(5).toString('hex')}`;
  const admin = new pg.Client({ connectionString: PG_URL });
  await admin.connect();
  try {
    const worker = spawn(process.execPath, ['--conditions=kestrel-source', '--import', 'tsx', CLI, 'tune', 'worker', '--queue', PG_URL, '--queue-schema', schema, '--json'], { env: { ...process.env, KESTREL_LOG_LEVEL: 'warn' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    worker.stdout.on('data', (d: Buffer) => (stdout += d));
    worker.stderr.on('data', (d: Buffer) => (stderr += d));
    const exited = new Promise<number>((resolve) => worker.on('exit', (code) => resolve(code ?? -1)));
    // work: false: this process only queues and waits, so every trial must come from the worker.
    const workerDied = exited.then((code) => Promise.reject(new Error(`the worker exited (${code}) before the search ended: ${stderr}`)));
    const r = await Promise.race([workerDied, tune({
      data, space: parseSpace({ boxBins: { choice: [0, 8] } }), trials: 2, folds: 2, base: { imgsz: 64, width: 0.25, batch: 4, valBatch: 4, epochs: 1 },
      project: join(dir, 'runs'), name: 'queued', queue: PG_URL, queueSchema: schema, work: false, logger: silentLogger,
    })]);
    assert.equal(r.trials.length, 2);
    assert.ok(r.trials.every((t) => !t.error && t.folds.length === 2), JSON.stringify(r.trials));
    assert.deepEqual(new Set(r.trials.map((t) => t.worker)), new Set([`${hostname()}:${worker.pid}`]), 'the worker process ran them');
    assert.deepEqual(r.trials.map((t) => t.params.boxBins).sort(), [0, 8]);
    assert.ok(existsSync(r.bestFile!));
    // A worker runs until stopped; SIGTERM between trials ends it cleanly with its count.
    worker.kill('SIGTERM');
    assert.equal(await exited, 0, stderr);
    assert.deepEqual(JSON.parse(stdout), { trials: 2 });
  } finally {
    await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    await admin.end();
  }
});

test('a queue that is not PostgreSQL, or not there, is refused before any trial runs', async () => {
  const dir = tempDir();
  const data = join(dir, 'ds');
  await synthFactoryDataset(data, { count: 8, seed: 5, size: 64 });
  await assert.rejects(tune({ data, trials: 1, folds: 2, queue: 'redis://127.0.0.1:6379', project: join(dir, 'runs'), logger: silentLogger }), /--queue must be a postgres:\/\/ URL, got "redis:\/\/127\.0\.0\.1:6379"/);
  await assert.rejects(tune({ data, trials: 1, folds: 2, queue: 'postgres://postgres@127.0.0.1:1/test', project: join(dir, 'runs'), logger: silentLogger }), (err: Error & { code?: string }) => err.code === 'E_QUEUE_UNAVAILABLE' && /cannot open the job queue at postgres:\/\/\*\*\*@127\.0\.0\.1:1\/test/.test(err.message));
  await assert.rejects(tune({ data, trials: 1, folds: 9, project: join(dir, 'runs'), logger: silentLogger }), /--folds 9 needs at least 18 train\+val images/);
  const cli = await run(['tune', '--data', data, '--space', '{"lr": {"log": [1, 2]}}', '--json']);
  assert.equal(cli.exitCode, 2);
  assert.match(JSON.parse(cli.stdout).error.message, /--space\.lr\.log\[0\] must be in \(0, 1\), got 1/);
  const noData = await run(['tune', '--trials', '2', '--json']);
  assert.match(JSON.parse(noData.stdout).error.message, /tune needs --data <dataset>/);
  const noQueue = await run(['tune', '--data', data, '--no-work', '--json']);
  assert.match(JSON.parse(noQueue.stdout).error.message, /--no-work need --queue/);
});

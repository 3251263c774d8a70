// `kestrel prune` as a user runs it: one run on a tiny synthetic set (prune, fine-tune, export,
// quantize, score, time) writes the table and prune.json; bad flags are one-line errors naming
// what is wrong.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { selectBackend } from '@kestrel/trainer/backend/select';
import { buildDetector } from '@kestrel/trainer/model/build';
import { resolveDetectorConfig } from '@kestrel/trainer/model/config';
import { readCheckpointFile, saveCheckpoint } from '@kestrel/trainer/model/checkpoint';
import { synthFactoryDataset, FACTORY_CLASSES } from '@kestrel/trainer/data/synth/factory';
import type { PruneReport } from '@kestrel/trainer/prune/run';
import { tempDir } from './support/tmp.js';

const CLI = fileURLToPath(new URL('./support/kestrel-trainer-cli.ts', import.meta.url));

function run(args: string[]): Promise<{ stdout: string; stderr: string; exitCode: number }> {
  return new Promise((resolve) => {
    execFile(process.execPath, ['--conditions=kestrel-source', '--import', 'tsx', CLI, ...args], { env: { ...process.env, KESTREL_LOG_LEVEL: 'warn' }, maxBuffer: 1 << 26 }, (err, stdout, stderr) => {
      resolve({ stdout, stderr, exitCode: err ? Number((err as { code?: number }).code ?? 1) : 0 });
    });
  });
}

async function fixture(): Promise<{ dir: string; data: string; checkpoint: string }> {
  await selectBackend();
  const dir = tempDir();
  const data = join(dir, 'ds');
  await synthFactoryDataset(data, { count: 16, seed: 4, size: 96 });
  const m = buildDetector(resolveDetectorConfig({ labels: [...FACTORY_CLASSES], inputHeight: 96, inputWidth: 96, width: 0.25 }), 2);
  const checkpoint = join(dir, 'ckpt');
  await saveCheckpoint(checkpoint, m, { epoch: 0, step: 0, bestFitness: 0, bestEpoch: 0 });
  m.net.dispose();
  return { dir, data, checkpoint };
}

test('kestrel prune --json: every sparsity pruned, fine-tuned, exported, quantized, scored and timed', async () => {
  const { dir, data, checkpoint } = await fixture();
  const r = await run(['prune', checkpoint, '--data', data, '--sparsity', '0.5', '--multiple', '1', '--epochs', '1', '--batch', '4', '--train-threads', '1', '--rounds', '1', '--iterations', '3', '--calib', '4', '--project', join(dir, 'runs'), '--json']);
  assert.equal(r.exitCode, 0, r.stderr.slice(-2000));
  const report = JSON.parse(r.stdout) as PruneReport;
  assert.deepEqual(report.rows.map((x) => x.sparsity), [0, 0.5]);
  const [orig, half] = report.rows;
  assert.ok(half.params < orig.params * 0.6 && half.macs < orig.macs * 0.6, `params ${orig.params} → ${half.params}, MACs ${orig.macs} → ${half.macs}`);
  assert.ok(half.channelsRemoved > 0.4 && half.channelsRemoved <= 0.5);
  assert.equal(orig.speedupFp32, 1);
  for (const row of report.rows) {
    assert.ok(existsSync(row.fp32) && existsSync(row.int8), 'both models written');
    assert.ok(row.fp32Ms > 0 && row.int8Ms > 0);
    assert.ok(row.map50 >= 0 && row.map50 <= 1 && row.int8Map50 >= 0);
  }
  // The fine-tuned model is its own checkpoint, with the pruned widths saved in its config.
  assert.match(half.checkpoint, /s50[/\\]finetune[/\\]weights[/\\]best$/);
  assert.ok(Object.keys(readCheckpointFile(half.checkpoint).config.channels ?? {}).length > 0);
  assert.equal(typeof half.prunedMap50, 'number');
  assert.deepEqual(JSON.parse(readFileSync(join(report.runDir, 'prune.json'), 'utf8')).rows.length, 2);
  const table = readFileSync(join(report.runDir, 'prune.txt'), 'utf8');
  assert.match(table, /sparsity .* params .* MACs .* FP32 ms .* INT8 ms .* mAP@0.5 .* mAP@.5:.95/);
  assert.match(table, /^0 \(original\)/m);
  assert.match(table, /^0\.5 \(/m);
});

test('kestrel prune refuses bad flags and a folder that is not a checkpoint, naming what is wrong', async () => {
  const { dir, data, checkpoint } = await fixture();
  const cases: Array<[string[], RegExp]> = [
    [['prune', checkpoint, '--data', data, '--sparsity', '1'], /--sparsity must be a comma-separated list of shares, each in \[0, 1\), got "1"/],
    [['prune', checkpoint, '--data', data, '--sparsity', '0.2,-0.1'], /--sparsity .* got "-0.1"/],
    [['prune', checkpoint, '--data', data, '--criterion', 'random'], /--criterion must be bn or l1, got "random"/],
    [['prune', data, '--data', data], /is not a Kestrel checkpoint/],
    [['prune', checkpoint, '--data', data, '--epochs', '-1'], /--epochs must be a whole number/],
    [['prune', checkpoint, '--data', data, '--multiple', '0'], /--multiple must be a positive integer, got "0"/],
  ];
  for (const [args, message] of cases) {
    const r = await run([...args, '--project', join(dir, 'runs')]);
    assert.equal(r.exitCode, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, message);
  }
  assert.ok(!existsSync(join(dir, 'runs')), 'a refused run leaves no run folder');
});

test('a network rebuilt from an imported ONNX model (fine-tuned NanoDet) is refused by name, before any work', async () => {
  const { dir, data } = await fixture();
  const { train } = await import('@kestrel/trainer/train/trainer');
  const { silentLogger } = await import('@kestrel/core/util/log');
  const nanodet = fileURLToPath(new URL('../../models/nanodet-416.onnx', import.meta.url));
  const r = await train({ data, from: nanodet, epochs: 1, imgsz: 64, batch: 4, valBatch: 4, threads: 1, project: join(dir, 'runs'), name: 'nd', logger: silentLogger, progress: false });
  const refused = await run(['prune', r.best, '--data', data, '--project', join(dir, 'prune'), '--json']);
  assert.equal(refused.exitCode, 2, refused.stderr);
  assert.match(JSON.parse(refused.stdout).error.message, /is a network rebuilt from an imported ONNX graph \(nanodet\); kestrel prune prunes Kestrel detectors/);
  assert.ok(!existsSync(join(dir, 'prune')), 'no run folder');
});

// The bench's CPU accounting: /proc stat lines parsed from the last ')' (command names may hold
// spaces and parentheses), and a process's main thread, other threads and children told apart.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { coresBetween, cpuSecondsOfStat, sampleProcessCpu } from '@kestrel/agent/bench/cpu-usage';
import { cpuBudget } from '@kestrel/agent/bench/cpu-budget';

const statLine = (comm: string, utime: number, stime: number) =>
  `4242 (${comm}) S 1 4242 4242 0 -1 4194560 100 0 0 0 ${utime} ${stime} 7 9 20 0 3 0 123 456 789`;

test('a stat line is read from after the command name, however odd the name', () => {
  const plain = cpuSecondsOfStat(statLine('node', 300, 100));
  assert.ok(plain > 0);
  assert.equal(cpuSecondsOfStat(statLine('kestrel (inference) 1 2 3', 300, 100)), plain, 'spaces and parentheses in the name change nothing');
  assert.equal(cpuSecondsOfStat(statLine('node', 30, 10)), plain / 10, 'user + system ticks');
  assert.throws(() => cpuSecondsOfStat('garbage'), /not a \/proc stat line/);
});

test('the main thread and a child process are measured apart', { skip: process.platform !== 'linux' && 'reads /proc' }, async () => {
  const before = sampleProcessCpu(process.pid)!;
  // Spin this thread for 300 ms of its own CPU time (not wall time: the machine may be busy).
  const start = process.cpuUsage();
  while (process.cpuUsage(start).user < 300_000);
  const child = spawn(process.execPath, ['-e', "const s = process.cpuUsage(); while (process.cpuUsage(s).user < 400000); console.log('spun'); setTimeout(() => {}, 10000)"], { stdio: ['ignore', 'pipe', 'inherit'] });
  try {
    await once(child.stdout, 'data');
    const after = sampleProcessCpu(process.pid)!;
    assert.ok(after.main - before.main >= 0.25, `main thread: ${after.main - before.main} s`);
    assert.ok(after.children - before.children >= 0.35, `child: ${after.children - before.children} s`);
    const cores = coresBetween(before, after, 2);
    assert.ok(Math.abs(cores.main - (after.main - before.main) / 2) < 1e-9, 'cores are CPU seconds per second of wall time');
  } finally {
    child.kill();
  }
  assert.equal(sampleProcessCpu(2 ** 22 + 12345), undefined, 'a process that does not exist');
});

test('the ceiling is what the decoder and the event loop leave to inference', () => {
  const budget = cpuBudget({ fps: 100, cores: 2 }, 70, [{ main: 0.2, otherThreads: 1.5, children: 0.2 }, { main: 0.2, otherThreads: 1.5, children: 0.2 }], 2)!;
  assert.equal(budget.ceilingFps, 80, '2 cores − 0.4 leaves 1.6 of the 2 the bare loop needs');
  assert.equal(budget.ratioToCeiling, 0.875);
  assert.deepEqual(budget.inferenceCoreMsPerFrame, { bare: 20, agent: 21.43 });
  assert.equal(cpuBudget({ fps: 100, cores: 1 }, 90, [{ main: 0.1, otherThreads: 1, children: 0.1 }], 4)!.ceilingFps, 100, 'with cores to spare the ceiling is the bare loop');
  assert.equal(cpuBudget({ fps: 100, cores: 1 }, 90, [undefined], 4), undefined, 'no /proc, no budget');
});

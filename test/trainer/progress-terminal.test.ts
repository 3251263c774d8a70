// The training progress bar on a real terminal (a pty from util-linux's `script`): log lines
// written while a bar is drawn land above it on their own line, and the bar is drawn again
// below, so on the screen no line is half bar, half log.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { REPO_ROOT } from '../support/images.js';
import { renderScreen } from '../support/terminal-screen.js';

function onTerminal(script: string): Promise<{ code: number | null; output: string }> {
  const cmd = [process.execPath, '--conditions=kestrel-source', '--import', 'tsx', script].map((a) => `'${a}'`).join(' ');
  const env = { ...process.env, KESTREL_LOG_LEVEL: 'info', COLUMNS: '200' };
  delete env.KESTREL_LOG_FORMAT;
  const child = spawn('script', ['-qfec', cmd, '/dev/null'], { cwd: REPO_ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (d: Buffer) => (output += d.toString()));
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('exit', (code) => resolve({ code, output }));
  });
}

test('log lines and the progress bar never write over each other', { timeout: 60_000 }, async () => {
  const { code, output } = await onTerminal(join(REPO_ROOT, 'test/trainer/support/progress-probe.ts'));
  assert.equal(code, 0, output);
  const screen = renderScreen(output).filter((l) => l !== '');
  const isBar = (l: string) => /^epoch [12]\/2 \[[█░]+\] \d\/4 loss /.test(l);
  const isLog = (l: string) => /^\[\d\d:\d\d:\d\d\.\d{3}\] (INFO|WARN) \(train\): /.test(l);
  for (const l of screen) assert.ok(isBar(l) !== isLog(l), `a line that is both or neither a bar and a log line: ${JSON.stringify(l)}\nscreen:\n${screen.join('\n')}`);
  const text = screen.join('\n');
  // In order: each epoch's warning, its finished bar (4/4, drawn again below the warning), its summary.
  assert.match(text, /WARN \(train\): image skipped .*img-0\.jpg.*\nepoch 1\/2 \[█+\] 4\/4 .*\n.*INFO \(train\): epoch 1\/2: loss 1\.500\n.*WARN \(train\): image skipped .*img-1\.jpg.*\nepoch 2\/2 \[█+\] 4\/4 .*\n.*INFO \(train\): epoch 2\/2: loss 1\.500\n.*INFO \(train\): done$/);
  assert.equal(screen.filter(isBar).length, 2, 'one bar per epoch stays on the screen');
});

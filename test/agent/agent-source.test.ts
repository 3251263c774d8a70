// `kestrel agent --source <file>`: the agent runs on one camera named after the file, with no
// camera in any YAML, and publishes its events; a bad source is the config's error (exit 2).
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { testImage } from '../support/images.js';
import { runKestrel } from '../support/cli.js';
import { startBroker, type BrokerHandle } from '../support/broker.js';
import { uniquePrefix } from '../support/ports.js';
import { cleanUp, Recorder, startAgentProcess, stopAgent, waitFor } from './support/agent-process.js';

const dir = mkdtempSync(join(tmpdir(), 'kestrel-agent-source-'));
let broker: BrokerHandle | undefined;
after(async () => {
  await cleanUp();
  await broker?.stop();
  rmSync(dir, { recursive: true, force: true });
});

test('--source clip.mp4 replaces the config\'s cameras with one camera "porch" whose person events arrive', { timeout: 120_000 }, async () => {
  broker = await startBroker();
  const clip = join(dir, 'porch.mp4');
  execFileSync('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-loop', '1', '-i', testImage('astronaut'), '-t', '2', '-r', '10', '-vf', 'scale=512:512', '-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p', clip]);
  const prefix = uniquePrefix('src');
  const config = join(dir, 'kestrel.yaml');
  // The file's camera would be a demo; --source takes its place.
  writeFileSync(config, [`device: { id: box }`, `mqtt: { url: "${broker.url}", prefix: ${prefix} }`, `stateDir: "${join(dir, 'state')}"`, 'http: { enabled: false }', 'model: { threads: 1 }', 'cameras:', '  - name: yard', '    source: { type: demo }'].join('\n'));
  const recorder = new Recorder(broker.url, prefix);
  await recorder.connect();
  const agent = startAgentProcess(config, { args: ['--source', clip] });
  const event = await waitFor('a person event from camera porch', 60_000, () => recorder.events('box', 'porch').find((e) => e.label === 'person'));
  assert.equal(event.camera, 'porch');
  const state = await waitFor('a state naming the cameras', 10_000, () => recorder.lastState('box'));
  assert.deepEqual(Object.keys(state.cameras), ['porch']);
  assert.equal(recorder.events('box', 'yard').length, 0);
  assert.equal((await stopAgent(agent)).code, 0);
});

test('a --source the schema refuses, or a file that is not there, stops the agent at once with exit 2', { timeout: 60_000 }, async () => {
  const url = await runKestrel(['agent', '--source', 'http://cam.local/video'], { cwd: dir });
  assert.equal(url.code, 2);
  assert.match(url.stderr, /cameras\[0\]\.source\.url: must be an rtsp:\/\/ or rtsps:\/\/ URL.*\(value from --source\)/);
  const missing = await runKestrel(['agent', '--source', 'nope.mp4'], { cwd: dir });
  assert.equal(missing.code, 2);
  assert.match(missing.stderr, /--source nope\.mp4: no such file/);
});

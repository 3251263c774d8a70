// `kestrel bench pipeline` end to end on the bundled model and the demo clip, kept short: the
// figures are not judged here (machines are shared and noisy), only that every part of the report
// is measured and consistent, and that bad flags are refused by name.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runKestrel } from '../support/cli.js';

test('the pipeline bench measures both sides, the frame latencies and where the cores went', async () => {
  const r = await runKestrel(['bench', 'pipeline', '--seconds', '2', '--threads', '1', '--json'], { timeoutMs: 240_000 });
  assert.equal(r.code, 0, r.stderr);
  const report = JSON.parse(r.stdout);
  assert.equal(report.ok, true);
  assert.ok(report.bareOrt.fps > 0 && report.bareOrt.cores > 0, 'the bare loop ran and its cores were counted');
  assert.ok(report.pipeline.fps > 0, 'frames went through the agent');
  assert.ok(report.pipeline.inferenceP50 > 0, 'the agent reported its inference times');
  assert.ok(Math.abs(report.throughputRatio - report.pipeline.fps / report.bareOrt.fps) < 0.01, 'the ratio is of the two measured rates');
  assert.ok(report.nominal.frames > 0, 'frames were timed one by one from their detections');
  assert.ok(report.nominal.latency.p99 >= report.nominal.latency.p50);
  assert.ok(report.nominal.slowest.length >= 1);
  for (const target of ['throughput', 'latency']) assert.equal(typeof report.targets[target].met, 'boolean');
  if (process.platform === 'linux') {
    const { cpu } = report;
    assert.ok(cpu.agent.inference > 0 && cpu.agent.mainThread > 0, 'the inference threads and the event loop used CPU');
    assert.ok(cpu.agent.ffmpeg > 0, 'the camera decoder (a child process) is counted');
    assert.ok(cpu.ceilingFps > 0 && cpu.ceilingFps <= report.bareOrt.fps + 1e-9, 'the ceiling is at most the bare loop');
  }
});

test('the pipeline bench refuses bad flags, naming them', async () => {
  const seconds = await runKestrel(['bench', 'pipeline', '--seconds', '1']);
  assert.equal(seconds.code, 2);
  assert.match(seconds.stderr, /--seconds must be at least 2, got "1"/);
  const threads = await runKestrel(['bench', 'pipeline', '--threads', 'two']);
  assert.match(threads.stderr, /--threads must be a positive whole number, got "two"/);
  const model = await runKestrel(['bench', 'pipeline', '--model', '/nonexistent/m.onnx']);
  assert.equal(model.code, 2);
  assert.match(model.stderr, /--model: no such file \/nonexistent\/m\.onnx/);
  const source = await runKestrel(['bench', 'pipeline', '--source', '/nonexistent/clip.mp4']);
  assert.match(source.stderr, /--source must be demo, a video file or an rtsp:\/\/ URL; no such file/);
});

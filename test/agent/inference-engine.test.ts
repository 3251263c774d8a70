// The inference worker with a real ONNX Runtime session: frames are preprocessed on the calling
// thread and their tensors travel to the worker and back without copies.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { silentLogger, BUNDLED_MODEL_PATH, letterboxImage } from '@kestrel/core';
import { InferenceEngine } from '@kestrel/agent/inference/engine';
import { DEMO_PHOTO } from '@kestrel/agent/source/demo';

test('the engine finds the person in the demo photo, two frames in flight, answers in order', async () => {
  const engine = new InferenceEngine({ modelPath: BUNDLED_MODEL_PATH, load: { providers: ['cpu'], threads: 1 }, logger: silentLogger });
  const info = await engine.start();
  try {
    assert.equal(engine.maxInFlight, 2, 'the running frame and the next one sent ahead');
    const { rgb, geometry } = await letterboxImage(DEMO_PHOTO, info.meta.input);
    const before = Buffer.from(rgb);
    const answers: number[] = [];
    const results = await Promise.all(
      [0, 1, 2].map((i) => engine.infer(rgb, geometry, { scoreThreshold: 0.3 }).then((r) => (answers.push(i), r))),
    );
    assert.deepEqual(answers, [0, 1, 2], 'answers come back in the order the frames went out');
    assert.ok(rgb.equals(before), "the caller's frame is left as it was (the tensor, not the frame, is transferred)");
    for (const r of results) {
      const person = r.detections.find((d) => d.label === 'person');
      assert.ok(person, `a person in every answer: ${JSON.stringify(r.detections.map((d) => d.label))}`);
      assert.ok(r.preprocessMs > 0 && r.inferenceMs > 0, 'timings of both threads are reported');
    }
    assert.deepEqual(results[2].detections, results[0].detections, 'a recycled input buffer gives the same answer');
  } finally {
    await engine.stop();
  }
});

test('a frame of the wrong size is refused on the calling thread, and the worker goes on', async () => {
  const engine = new InferenceEngine({ modelPath: BUNDLED_MODEL_PATH, load: { providers: ['cpu'], threads: 1 }, logger: silentLogger });
  const info = await engine.start();
  try {
    const { rgb, geometry } = await letterboxImage(DEMO_PHOTO, info.meta.input);
    await assert.rejects(engine.infer(rgb.subarray(0, rgb.length - 3), geometry, {}), (err: Error & { code?: string }) => {
      assert.equal(err.code, 'E_INFERENCE_INPUT');
      assert.match(err.message, /expected 519168 for 416x416 RGB/);
      return true;
    });
    const ok = await engine.infer(rgb, geometry, {});
    assert.ok(ok.detections.length > 0);
    assert.equal(engine.restarts, 0);
  } finally {
    await engine.stop();
  }
});

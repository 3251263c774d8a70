// The post-swap health rules, judged on counter windows (no timing involved).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_HEALTH_POLICY, judge, type HealthPolicy } from '@kestrel/agent/update/health-watch';

const policy: HealthPolicy = { ...DEFAULT_HEALTH_POLICY, minFrames: 10, maxInferenceMs: 100, minBaselineDetections: 10 };
const w = (frames: number, failures: number, detections: number, ms = 20) => ({ frames, failures, detections, inferenceMsSum: frames * ms });

test('a healthy window passes; too few frames is inconclusive, not a failure', () => {
  assert.deepEqual(judge({ cam: w(20, 0, 20) }, { cam: w(20, 0, 20) }, policy), { healthy: true, conclusive: true });
  assert.deepEqual(judge({ cam: w(3, 0, 0) }, { cam: w(20, 0, 20) }, policy), { healthy: true, conclusive: false });
});

test('failures, a worker crash, slow inference and a detection collapse each roll back, with the figures', () => {
  assert.match(judge({ cam: w(10, 5, 10) }, {}, policy).reason!, /5 of 15 inferences failed \(33%, limit 20%\)/);
  assert.match(judge({ cam: w(0, 3, 0) }, {}, policy).reason!, /every inference failed \(3 of 3\)/);
  assert.match(judge({}, {}, policy, true).reason!, /crashed or hung/);
  assert.match(judge({ cam: w(20, 0, 20, 150) }, {}, policy).reason!, /mean inference time 150 ms is above the limit of 100 ms/);
  assert.match(judge({ cam: w(20, 0, 2) }, { cam: w(20, 0, 40) }, policy).reason!, /detections per frame fell from 2\.00 to 0\.10 on cameras cam/);
});

test('the detection rule compares only cameras both models saw, and needs a baseline with detections', () => {
  // cam2 went dark after the swap: it says nothing about the model.
  assert.equal(judge({ cam1: w(20, 0, 20), cam2: w(0, 0, 0) }, { cam1: w(20, 0, 20), cam2: w(20, 0, 100) }, policy).healthy, true);
  // An empty scene before the swap proves nothing.
  assert.equal(judge({ cam: w(20, 0, 0) }, { cam: w(20, 0, 3) }, policy).healthy, true);
  assert.equal(judge({ cam: w(20, 0, 0) }, { cam: w(20, 0, 30) }, { ...policy, minDetectionRatio: null }).healthy, true);
});

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
  const collapse = judge({ cam: w(20, 0, 2) }, { cam: w(20, 0, 40) }, policy);
  assert.match(collapse.reason!, /^quality: detections per frame fell from 2\.00 to 0\.10 on cameras cam/);
  assert.equal(collapse.code, 'quality');
  assert.equal(judge({}, {}, policy, true).code, 'crash');
  assert.equal(judge({ cam: w(10, 5, 10) }, {}, policy).code, 'failures');
  assert.equal(judge({ cam: w(20, 0, 20, 150) }, {}, policy).code, 'latency');
});

/** A window whose detections' confidence histogram is `scores` (10 bins over [minScore, 1]). */
const ws = (frames: number, scores: number[]) => {
  const n = scores.reduce((a, b) => a + b, 0);
  // Each detection at its bin's centre over [0.35, 1].
  return { ...w(frames, 0, n), scores, scoreSum: scores.reduce((sum, c, i) => sum + c * (0.35 + (i + 0.5) * 0.065), 0) };
};
const high = [0, 0, 0, 0, 0, 0, 2, 8, 20, 10];
const low = [10, 20, 8, 2, 0, 0, 0, 0, 0, 0];

test('a model as sure as the one before passes; one whose confidence fell is rolled back for quality, with the PSI', () => {
  assert.equal(judge({ cam: ws(40, high) }, { cam: ws(40, high) }, policy).healthy, true);
  const dim = judge({ cam: ws(40, low) }, { cam: ws(40, high) }, policy);
  assert.equal(dim.healthy, false);
  assert.equal(dim.code, 'quality');
  assert.match(dim.reason!, /^quality: the confidence histogram shifted down against the previous model's \(PSI \d+\.\d\d, limit 0\.25; mean score 0\.90 → 0\.45, more than 0\.15 lower\) on cameras cam/);
  // A shift of a little less sure (within the margin) is two good models differing.
  const abit = [0, 0, 0, 0, 2, 8, 20, 10, 0, 0];
  assert.equal(judge({ cam: ws(40, abit) }, { cam: ws(40, high) }, policy).healthy, true);
  assert.equal(judge({ cam: ws(40, abit) }, { cam: ws(40, high) }, { ...policy, maxConfidenceDrop: 0.1 }).healthy, false);
  // Surer is not a regression, however large the shift.
  assert.equal(judge({ cam: ws(40, high) }, { cam: ws(40, low) }, policy).healthy, true);
  // Too few counted detections on either side prove nothing; null turns the rule off.
  assert.equal(judge({ cam: ws(40, [1, 2, 0, 0, 0, 0, 0, 0, 0, 0]) }, { cam: ws(40, high) }, { ...policy, minDetectionRatio: null }).healthy, true);
  assert.equal(judge({ cam: ws(40, low) }, { cam: ws(40, high) }, { ...policy, maxConfidencePsi: null }).healthy, true);
  // Only cameras both models saw.
  assert.equal(judge({ cam1: ws(40, high), cam2: ws(0, []) }, { cam1: ws(40, high), cam2: ws(40, low) }, policy).healthy, true);
});

test('the detection rule compares only cameras both models saw, and needs a baseline with detections', () => {
  // cam2 went dark after the swap: it says nothing about the model.
  assert.equal(judge({ cam1: w(20, 0, 20), cam2: w(0, 0, 0) }, { cam1: w(20, 0, 20), cam2: w(20, 0, 100) }, policy).healthy, true);
  // An empty scene before the swap proves nothing.
  assert.equal(judge({ cam: w(20, 0, 0) }, { cam: w(20, 0, 3) }, policy).healthy, true);
  assert.equal(judge({ cam: w(20, 0, 0) }, { cam: w(20, 0, 30) }, { ...policy, minDetectionRatio: null }).healthy, true);
});

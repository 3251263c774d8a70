// The shadow comparison's counting: one-to-one matches of the same label at IoU 0.5, agreement as
// matched / union, detections under the camera's minScore counted for neither model.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Detection } from '@kestrel/core';
import { CameraShadowTally, matchCount } from '@kestrel/agent/shadow/index';

const det = (label: string, score: number, box: [number, number, number, number]): Detection => ({ label, classId: 0, score, box });

test('a match needs the same label and IoU ≥ 0.5, and takes each current detection once', () => {
  const current = [det('person', 0.9, [0, 0, 100, 100]), det('car', 0.8, [200, 200, 300, 300])];
  assert.equal(matchCount(current, current), 2);
  // Shifted by 20 px: IoU 0.67 still matches; by 60 px: 0.25 does not.
  assert.equal(matchCount(current, [det('person', 0.7, [20, 0, 120, 100])]), 1);
  assert.equal(matchCount(current, [det('person', 0.7, [60, 0, 160, 100])]), 0);
  assert.equal(matchCount(current, [det('dog', 0.7, [0, 0, 100, 100])]), 0, 'another label');
  // Two candidates on one current box: one match.
  assert.equal(matchCount(current, [det('person', 0.9, [0, 0, 100, 100]), det('person', 0.8, [5, 5, 100, 100])]), 1);
});

test('agreement is matched over the union; minScore filters both sides; latency and score sums per side', () => {
  const tally = new CameraShadowTally();
  assert.equal(tally.figures().agreement, null, 'nothing seen yet');
  const a = [det('person', 0.9, [0, 0, 100, 100]), det('car', 0.6, [200, 200, 300, 300]), det('car', 0.1, [400, 400, 450, 450])];
  const b = [det('person', 0.8, [0, 0, 100, 100]), det('bike', 0.7, [200, 200, 300, 300])];
  tally.add(a, b, 10, 20, 0.3);
  tally.add(a, a, 12, 24, 0.3);
  const f = tally.figures();
  assert.equal(f.frames, 2);
  // Frame 1: 1 matched of 2 + 2; frame 2: 2 of 2 + 2 (the 0.1 car under minScore on both).
  assert.equal(f.matched, 3);
  assert.equal(f.current.detections, 4);
  assert.equal(f.candidate.detections, 4);
  assert.equal(f.agreement, Number((3 / 5).toFixed(4)));
  assert.equal(f.current.scoreSum, 3);
  assert.equal(f.candidate.scoreSum, 3);
  assert.equal(f.current.latencyMeanMs, 11);
  assert.equal(f.candidate.latencyMeanMs, 22);
  assert.deepEqual(f.candidate.latencyMs, { p50: 20, p99: 24 });
});

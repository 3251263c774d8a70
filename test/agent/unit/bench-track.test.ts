import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TARGETS, benchTracking } from '@kestrel/agent/bench/track/run';

// Quality targets of issue #20 on a short run of the bench set (the figures in the README come
// from `kestrel bench track`, 30 s a scene). Deterministic: the scenes and the detector noise are seeded.
test('bench track: IDF1 ≥ 0.8 and new tracks ≤ 1.2× true objects for the current tracker', () => {
  const report = benchTracking({ seed: 1, seconds: 15 });
  const { current, baseline } = report.total;
  console.log(
    `bench track (seed 1, 15 s a scene): current MOTA ${current.mota.toFixed(3)} IDF1 ${current.idf1.toFixed(3)} IDsw ${current.idSwitches} new ${current.newTracks}/${current.trueObjects}; ` +
      `old MOTA ${baseline.mota.toFixed(3)} IDF1 ${baseline.idf1.toFixed(3)} IDsw ${baseline.idSwitches} new ${baseline.newTracks}/${baseline.trueObjects}`,
  );
  assert.equal(report.scenes.length, 5);
  assert.ok(current.trueObjects >= 30, `a real set: ${current.trueObjects} objects`);
  assert.ok(current.idf1 >= TARGETS.idf1, `IDF1 ${current.idf1}`);
  assert.ok(current.newPerObject <= TARGETS.newPerObject, `new/objects ${current.newPerObject}`);
  // The label vote: one track per parked object and bag, whatever label each frame gave.
  const parked = report.scenes.find((s) => s.scene === 'parked')!;
  assert.equal(parked.current.newTracks, parked.current.trueObjects);
});

// The hub's per-release shadow report from devices' latest reports: exact sums, nulls before
// anything was compared, and the run's status from its record and end time.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { summarizeShadow } from '@kestrel/deploy/shadow/index';
import type { ShadowRecord, ShadowReportRecord } from '@kestrel/deploy';

const manifest = {
  schema: 1 as const, name: 'm', version: '2', sha256: 'c'.repeat(64), size: 1, url: 'http://hub/a', release: 2,
  metadata: { decoder: 'nanodet', labelCount: 80, inputSize: [416, 416] as [number, number] }, sequence: 7, issuedAt: 1, expires: 2, keyId: '0123456789abcdef', signature: 'c2ln',
};
const shadow: ShadowRecord = { id: 'sh-1', release: 'm@2', share: 0.1, until: 10_000, createdAt: 0, createdBy: 'ops', targets: ['a', 'b', 'c'], manifest };

function reportOf(deviceId: string, cameras: Record<string, [frames: number, matched: number, current: number, candidate: number]>): ShadowReportRecord {
  const side = (detections: number, ms: number | null) => ({ detections, scoreSum: detections / 2, latencyMs: ms === null ? null : { p50: ms, p99: ms }, latencyMeanMs: ms });
  return {
    shadowId: 'sh-1', deviceId, at: 5, receivedAt: 6,
    report: {
      schema: 1, deviceId, id: 'sh-1', status: 'running', candidate: { name: 'm', version: '2', sha256: 'c'.repeat(64) }, current: null, share: 0.1, since: 1, at: 5, dropped: 3,
      cameras: Object.fromEntries(Object.entries(cameras).map(([name, [frames, matched, current, candidate]]) => [name, { frames, matched, agreement: null, current: side(current, frames ? 10 : null), candidate: side(candidate, frames ? 30 : null) }])),
    },
  };
}

test('before any report: nothing compared, every ratio null, running until its end, ended after, stopped when stopped', () => {
  const s = summarizeShadow(shadow, [], 5000);
  assert.equal(s.status, 'running');
  assert.equal(s.devicesReporting, 0);
  assert.equal(s.frames, 0);
  assert.equal(s.agreement, null);
  assert.equal(s.detectionRateRatio, null);
  assert.equal(s.latencyRatio, null);
  assert.equal(s.current.perFrame, null);
  assert.equal(summarizeShadow(shadow, [], 10_000).status, 'ended');
  assert.equal(summarizeShadow({ ...shadow, stopped: { by: 'ops', at: 3 } }, [], 5000).status, 'stopped');
});

test('cameras and devices add up exactly; a device with no compared frame is not counted as reporting', () => {
  const s = summarizeShadow(shadow, [reportOf('a', { door: [10, 8, 10, 9], yard: [30, 0, 0, 6] }), reportOf('b', { door: [0, 0, 0, 0] })], 5000);
  assert.equal(s.devicesReporting, 1);
  assert.equal(s.frames, 40);
  assert.equal(s.matched, 8);
  // 8 of 10 + 15 − 8.
  assert.equal(s.agreement, Number((8 / 17).toFixed(4)));
  assert.equal(s.detectionRateRatio, 1.5);
  assert.equal(s.latencyRatio, 3);
  assert.equal(s.current.perFrame, 0.25);
  assert.equal(s.candidate.meanScore, 0.5);
  assert.equal(s.dropped, 6);
  assert.deepEqual(s.devices.map((d) => [d.deviceId, d.frames, d.agreement]), [['a', 40, Number((8 / 17).toFixed(4))], ['b', 0, null]]);
});

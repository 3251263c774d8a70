import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Box } from '@kestrel/core/image/letterbox';
import type { Detection } from '@kestrel/core/detect/types';
import { ObjectTracker } from '@kestrel/agent/track/object-tracker';
import { OpenTracksFile } from '@kestrel/agent/track/open-tracks-file';
import { endTracksLeftOpen, endTracksOfOtherCameras, openTracksPath } from '@kestrel/agent/pipeline/restart-ends';
import { silentLogger, type DetectionEvent } from '@kestrel/core';
import { trackerOptions } from '../support/camera-config.js';

const person = (box: Box, score = 0.8): Detection => ({ classId: 0, label: 'person', score, box });
const T0 = 1_700_000_000_000;

test('open tracks survive a crash on disk: saved at once on new/end, box and times at most once a second', () => {
  const dir = mkdtempSync(join(tmpdir(), 'kestrel-open-tracks-'));
  try {
    const path = join(dir, 'tracks', 'door.json');
    const file = new OpenTracksFile(path, 'door');
    const tracker = new ObjectTracker({ ...trackerOptions({ tracker: { minHits: 2, lostSeconds: 0.5 } }), eventId: (t) => `${t}-life` });
    const step = (k: number, dets: Detection[], now: number) => {
      const events = tracker.update(dets, T0 + k * 100);
      file.save(tracker.openTracks(), tracker.openChanges, now);
      return events;
    };
    step(0, [person([0, 0, 50, 150])], 0);
    assert.equal(existsSync(path), false, 'nothing announced, nothing written');
    const events = step(1, [person([5, 0, 55, 150])], 10);
    assert.deepEqual(events.map((e) => e.type), ['new']);
    const saved = () => JSON.parse(readFileSync(path, 'utf8')) as { tracks: Array<{ id: string; box: Box; lastSeen: number }> };
    assert.deepEqual(saved().tracks.map((t) => [t.id, t.lastSeen]), [[`${T0}-life`, T0 + 100]], 'written with the new');
    step(2, [person([10, 0, 60, 150])], 500);
    assert.equal(saved().tracks[0].lastSeen, T0 + 100, 'within the second: not rewritten');
    step(3, [person([15, 0, 65, 150])], 1100);
    assert.equal(saved().tracks[0].lastSeen, T0 + 300, 'a second later: rewritten');
    assert.deepEqual(saved().tracks[0].box, [15, 0, 65, 150]);

    // What the next start reads: the same tracks, as a fresh instance finds them.
    const after = new OpenTracksFile(path, 'door').read();
    assert.equal(after.length, 1);
    assert.equal(after[0].label, 'person');
    assert.equal(after[0].firstSeen, T0);

    for (let k = 4; k < 10; k++) step(k, [], 1200 + k);
    assert.equal(existsSync(path), false, 'the end removes the file at once');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a missing, torn or foreign file reads as no open tracks', () => {
  const dir = mkdtempSync(join(tmpdir(), 'kestrel-open-tracks-'));
  try {
    const path = join(dir, 'cam.json');
    assert.deepEqual(new OpenTracksFile(path, 'cam').read(), []);
    writeFileSync(path, '{"schema":1,"tracks":[{"id":"x"');
    assert.deepEqual(new OpenTracksFile(path, 'cam').read(), []);
    writeFileSync(path, JSON.stringify({ schema: 2, tracks: [] }));
    assert.deepEqual(new OpenTracksFile(path, 'cam').read(), []);
    writeFileSync(path, JSON.stringify({ schema: 1, tracks: [{ id: 'ok', label: 'car', score: 0.5, box: [0, 0, 1, 1], zones: [], firstSeen: 1, lastSeen: 2 }, { id: 3 }] }));
    assert.deepEqual(new OpenTracksFile(path, 'cam').read().map((t) => t.id), ['ok'], 'malformed entries are skipped');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a state folder that cannot be written is reported once and does not stop tracking', () => {
  const dir = mkdtempSync(join(tmpdir(), 'kestrel-open-tracks-'));
  try {
    writeFileSync(join(dir, 'tracks'), 'a file where the folder should be');
    const errors: string[] = [];
    const file = new OpenTracksFile(join(dir, 'tracks', 'door.json'), 'door', (err) => errors.push(err.message));
    const open = [{ id: 'a', label: 'person', classId: 0, score: 0.9, bestScore: 0.9, box: [0, 0, 1, 1] as Box, zones: [], firstSeen: 1, lastSeen: 2 }];
    for (let k = 0; k < 5; k++) file.save(open, k, k * 2000);
    assert.equal(errors.length, 1, 'one report for a failure that lasts');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('at start, the tracks a crash left open end with reason restart, for cameras still run and cameras gone alike', () => {
  const dir = mkdtempSync(join(tmpdir(), 'kestrel-open-tracks-'));
  try {
    const track = (id: string) => ({ id, label: 'person', classId: 0, score: 0.81234, bestScore: 0.9, box: [1.26, 2, 30, 40] as Box, zones: ['yard'], firstSeen: T0, lastSeen: T0 + 500 });
    new OpenTracksFile(openTracksPath(dir, 'door'), 'door').save([track('door-life')], 1, 0);
    new OpenTracksFile(openTracksPath(dir, 'gone'), 'gone').save([track('gone-1'), track('gone-2')], 1, 0);
    const sent: DetectionEvent[] = [];
    const deps = { deviceId: 'pi', modelVersion: () => '7', sink: { event: (e: DetectionEvent) => sent.push(e) }, logger: silentLogger };

    endTracksLeftOpen(new OpenTracksFile(openTracksPath(dir, 'door'), 'door'), 'door', deps);
    assert.equal(sent.length, 1);
    const [end] = sent;
    assert.deepEqual(
      { type: end.type, reason: end.reason, camera: end.camera, trackId: end.trackId, score: end.score, box: end.box, zones: end.zones, lastSeen: end.lastSeen, modelVersion: end.modelVersion },
      { type: 'end', reason: 'restart', camera: 'door', trackId: 'door-life', score: 0.812, box: [1.3, 2, 30, 40], zones: ['yard'], lastSeen: T0 + 500, modelVersion: '7' },
    );
    assert.equal(end.id, `door-life:end:${end.frameTime}`);
    assert.ok(end.frameTime >= Date.now() - 5000, 'ended now, not when last seen');
    assert.equal(existsSync(openTracksPath(dir, 'door')), false);

    endTracksOfOtherCameras(dir, ['door'], deps);
    assert.deepEqual(sent.slice(1).map((e) => [e.camera, e.trackId, e.reason]), [['gone', 'gone-1', 'restart'], ['gone', 'gone-2', 'restart']]);
    assert.equal(existsSync(openTracksPath(dir, 'gone')), false);
    endTracksOfOtherCameras(join(dir, 'nowhere'), [], deps);
    assert.equal(sent.length, 3, 'no tracks folder: nothing to end');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

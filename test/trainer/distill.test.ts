// Distillation end to end with the real NanoDet teacher in ONNX Runtime: the teacher labels
// frames (soft scores kept), a tiny student trains on them, and the report compares the two.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { BUNDLED_MODEL_PATH } from '@kestrel/core/model/bundled';
import { readMetadata } from '@kestrel/core/model/metadata';
import { readModel } from '@kestrel/core/onnx/io';
import { silentLogger } from '@kestrel/core/util/log';
import { distill } from '@kestrel/trainer/distill/distill';
import { labelWithTeacher } from '@kestrel/trainer/distill/teacher';
import { loadDataset } from '@kestrel/trainer/data/dataset';
import { tempDir } from './support/tmp.js';
import { makeFrames } from './support/frames.js';

test('the teacher labels frames with its classes and keeps its scores as soft labels', async () => {
  const dir = tempDir();
  await makeFrames(join(dir, 'frames'), 2);
  const r = await labelWithTeacher({ teacher: BUNDLED_MODEL_PATH, frames: join(dir, 'frames'), out: join(dir, 'pseudo'), classes: ['person', 'cat', 'motorcycle'], threads: 1 });
  assert.equal(r.frames, 8);
  assert.deepEqual(r.classes, ['person', 'cat', 'motorcycle']);
  const ds = loadDataset(join(dir, 'pseudo'));
  const person = ds.items.filter((i) => i.id.startsWith('astronaut')).flatMap((i) => i.boxes);
  assert.ok(person.some((b) => b.classId === 0), 'the astronaut is a person');
  assert.ok(ds.items.filter((i) => i.id.startsWith('chelsea')).flatMap((i) => i.boxes).some((b) => b.classId === 1), 'chelsea is a cat');
  for (const b of ds.items.flatMap((i) => i.boxes)) assert.ok(b.score! >= 0.35 && b.score! <= 1, 'soft score kept');
  assert.ok(existsSync(join(dir, 'pseudo', 'soft_scores.json')));
  assert.ok(ds.splits.test.length >= 1, 'frames held out');
  await assert.rejects(labelWithTeacher({ teacher: BUNDLED_MODEL_PATH, frames: join(dir, 'frames'), out: join(dir, 'p2'), classes: ['unicorn'] }), /the teacher does not detect unicorn/);
});

test('distill trains a student, exports it, scores it against the teacher on held-out frames and times both', async () => {
  const dir = tempDir();
  await makeFrames(join(dir, 'frames'), 3, 256);
  const r = await distill({
    frames: join(dir, 'frames'), classes: ['person', 'cat', 'cup', 'motorcycle'], imgsz: 96, width: 0.25, epochs: 1, batch: 4,
    holdout: 0.25, threads: 1, project: join(dir, 'runs'), name: 'd', logger: silentLogger, progress: false,
  });
  assert.equal(r.frames, 12);
  assert.ok(r.teacherBoxes >= 8);
  assert.equal(r.heldOut.frames, 3);
  assert.ok(r.heldOut.map50 >= 0 && r.heldOut.map50 <= 1, `student mAP@0.5 vs teacher is a number: ${r.heldOut.map50}`);
  assert.ok(r.speed.teacherMs > 0 && r.speed.studentMs > 0);
  assert.ok(r.speed.speedup > 2, `a 96-pixel quarter-width student is much faster than NanoDet-416 (${r.speed.speedup}×)`);
  const meta = readMetadata(await readModel(r.student.onnx));
  assert.equal(meta.decoder, 'kestrel');
  assert.deepEqual(meta.labels, r.classes);
  const saved = JSON.parse(readFileSync(join(r.runDir, 'distill.json'), 'utf8'));
  assert.equal(saved.student.onnx, r.student.onnx);
});

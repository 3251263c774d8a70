// The review queue's order on a real SQLite store, across more samples than one page of the
// store's listing, and the label rules a review is checked against.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SqliteRecordStore, type SampleRecord } from '@kestrel/deploy';
import { reviewQueue, uncertainty } from '../../../deploy/src/review/queue.js';
import { checkLabels, nextReviewAt, ReviewError } from '../../../deploy/src/review/rules.js';

const dir = mkdtempSync(join(tmpdir(), 'kestrel-queue-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function sample(i: number, reasons: string[], score: number): SampleRecord {
  return {
    deviceId: `pi-${i % 3}`,
    id: `s${String(i).padStart(5, '0')}`,
    camera: 'door',
    capturedAt: 1_000_000 + i,
    receivedAt: 1_000_000 + i,
    modelVersion: '1',
    reasons,
    detections: [{ label: 'person', score, box: [0, 0, 10, 10] }],
    frameSize: [640, 480],
    imageSize: [320, 240],
    blobKey: `samples/${i}.jpg`,
    bytes: 1,
  };
}

test('uncertainty is 1 at score 0.5 and 0 at 0 or 1, whichever detection is nearest', () => {
  assert.equal(uncertainty({ detections: [{ label: 'a', score: 0.5, box: [0, 0, 1, 1] }] }), 1);
  assert.equal(uncertainty({ detections: [{ label: 'a', score: 1, box: [0, 0, 1, 1] }] }), 0);
  assert.ok(Math.abs(uncertainty({ detections: [{ label: 'a', score: 0.9, box: [0, 0, 1, 1] }, { label: 'b', score: 0.4, box: [0, 0, 1, 1] }] }) - 0.8) < 1e-9);
  assert.equal(uncertainty({ detections: [] }), 0);
});

test('the queue takes the best of 2500 samples across pages: reason first, then most uncertain, then oldest', async () => {
  const store = new SqliteRecordStore(join(dir, 'hub.sqlite'));
  try {
    const all: SampleRecord[] = [];
    for (let i = 0; i < 2500; i++) {
      const kind = i % 5;
      all.push(sample(i, kind === 0 ? ['random'] : kind === 1 ? ['countChange'] : kind === 2 ? ['rareClass', 'random'] : kind === 3 ? ['uncertainty'] : ['disagreement'], 0.05 + ((i * 7919) % 900) / 1000));
    }
    // Objects' snapshots sent at their end (the agent's reason `snapshot`), however unsure: after every strategy.
    for (let i = 2500; i < 2510; i++) all.push(sample(i, ['snapshot'], 0.5));
    await store.insertSamples(all);
    // One reviewed sample leaves the queue however uncertain it is.
    const best = all.filter((s) => s.reasons[0] === 'uncertainty').sort((a, b) => uncertainty(b) - uncertainty(a) || a.capturedAt - b.capturedAt)[0];
    await store.setReviewed(best.deviceId, best.id, { labels: [], by: 't', at: 1 });

    const queue = await reviewQueue(store, { reviewed: false }, 30);
    assert.equal(queue.length, 30);
    assert.ok(!queue.some((s) => s.id === best.id));
    assert.ok(queue.every((s) => s.reasons.includes('uncertainty')), 'uncertainty samples first');
    for (let k = 1; k < queue.length; k++) {
      const [a, b] = [queue[k - 1], queue[k]];
      assert.ok(uncertainty(a) > uncertainty(b) || (uncertainty(a) === uncertainty(b) && a.capturedAt < b.capturedAt), `${a.id} before ${b.id}`);
    }
    const expected = all
      .filter((s) => s.reasons[0] === 'uncertainty' && s.id !== best.id)
      .sort((a, b) => uncertainty(b) - uncertainty(a) || a.capturedAt - b.capturedAt)
      .slice(0, 30)
      .map((s) => s.id);
    assert.deepEqual(queue.map((s) => s.id), expected);

    // Past the uncertain ones: disagreement, then rare class (its best reason), then count change, then random, then snapshots.
    const whole = await reviewQueue(store, { reviewed: false }, 2600);
    const firstReason = (s: SampleRecord) => ['uncertainty', 'disagreement', 'rareClass', 'countChange', 'random', 'snapshot'].find((r) => s.reasons.includes(r));
    const runs = whole.map(firstReason).filter((r, k, list) => r !== list[k - 1]);
    assert.deepEqual(runs, ['uncertainty', 'disagreement', 'rareClass', 'countChange', 'random', 'snapshot']);
    assert.equal(whole.length, 2509);
    assert.equal((await reviewQueue(store, { reviewed: false, strategy: 'snapshot' }, 100)).length, 10, 'snapshots are their own filter');
  } finally {
    await store.close();
  }
});

test('replaceReviewed writes only over the review the editor started from', async () => {
  const store = new SqliteRecordStore(join(dir, 'cas.sqlite'));
  try {
    await store.insertSamples([sample(1, ['random'], 0.5)]);
    const id = 's00001';
    const labels = [{ label: 'person', box: [1, 2, 3, 4] as [number, number, number, number] }];
    assert.equal(await store.replaceReviewed('pi-1', id, null, { labels, by: 'a', at: 10 }), 'saved');
    assert.equal(await store.replaceReviewed('pi-1', id, null, { labels: [], by: 'b', at: 11 }), 'stale');
    assert.equal(await store.replaceReviewed('pi-1', id, 9, { labels: [], by: 'b', at: 11 }), 'stale');
    assert.deepEqual((await store.getSample('pi-1', id))?.reviewed, { labels, by: 'a', at: 10 });
    assert.equal(await store.replaceReviewed('pi-1', id, 10, { labels: [], by: 'b', at: 11 }), 'saved');
    assert.deepEqual((await store.getSample('pi-1', id))?.reviewed, { labels: [], by: 'b', at: 11 });
    assert.equal(await store.replaceReviewed('pi-1', 'nope', null, { labels: [], by: 'b', at: 12 }), 'missing');
    assert.equal(nextReviewAt(5, 11), 12, 'a save never reuses the revision it replaces, even with a clock behind');
    assert.equal(nextReviewAt(50, 11), 50);
  } finally {
    await store.close();
  }
});

test('label rules: inside the frame, at least a pixel, named, and in the class list when there is one', () => {
  const frame = { frameSize: [640, 480] as [number, number] };
  const rules = { maxLabels: 3 };
  assert.deepEqual(checkLabels([{ label: ' person ', box: [0, 0, 640, 480] }], frame, rules), [{ label: 'person', box: [0, 0, 640, 480] }], 'the whole frame is inside; spaces around a name go');
  assert.deepEqual(checkLabels([{ label: 'a', box: [1.234, 2, 3.456, 4] }], frame, rules)[0].box, [1.23, 2, 3.46, 4]);
  const refused = (labels: unknown, code: string, r: Parameters<typeof checkLabels>[2] = rules) =>
    assert.throws(() => checkLabels(labels, frame, r), (err: unknown) => err instanceof ReviewError && err.status === 400 && err.code === code);
  refused([{ label: 'a', box: [0, 0, 641, 10] }], 'E_REVIEW_BOX');
  refused([{ label: 'a', box: [0, -0.1, 10, 10] }], 'E_REVIEW_BOX');
  refused([{ label: 'a', box: [5, 5, 5.5, 10] }], 'E_REVIEW_BOX');
  refused([{ label: 'a', box: [0, 0, NaN, 10] }], 'E_REVIEW_BOX');
  refused([{ label: 'a\u0007', box: [0, 0, 10, 10] }], 'E_REVIEW_LABEL');
  refused([{ label: 7, box: [0, 0, 10, 10] }], 'E_REVIEW_LABEL');
  refused([{ label: 'dog', box: [0, 0, 10, 10] }], 'E_REVIEW_LABEL', { maxLabels: 3, classes: ['cat'] });
  refused(Array.from({ length: 4 }, () => ({ label: 'a', box: [0, 0, 10, 10] })), 'E_REVIEW_BODY');
  refused([null], 'E_REVIEW_BODY');
  assert.deepEqual(checkLabels([], frame, rules), [], 'an empty list is "nothing here"');
});

// The fault tests' delivery check must itself catch what it claims to catch.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { DetectionEvent } from '@kestrel/core';
import { checkDelivery } from '../support/delivery.js';

function ev(trackId: string, type: DetectionEvent['type'], t: number): DetectionEvent {
  return { schema: 1, id: `${trackId}:${type}:${t}`, type, deviceId: 'd', camera: 'c', trackId, label: 'person', score: 0.9, box: [0, 0, 1, 1], zones: [], firstSeen: 0, lastSeen: t, frameTime: t, modelVersion: '1' };
}

const life = [ev('a', 'new', 1), ev('a', 'update', 2), ev('b', 'new', 3), ev('a', 'end', 4), ev('b', 'end', 5)];
const produced = life.map((e) => e.id);

test('a complete, ordered delivery with duplicates passes', () => {
  const r = checkDelivery(produced, [life[0], life[1], life[0], life[1], life[2], life[3], life[4]]);
  assert.deepEqual([r.missing, r.unexpected, r.badLives, r.inOrder, r.duplicates], [[], [], [], true, 2]);
});

test('a missing event, a reordering, a stray event and a broken life are each reported', () => {
  assert.deepEqual(checkDelivery(produced, [life[0], life[2], life[3], life[4]]).missing, [life[1].id]);
  assert.equal(checkDelivery(produced, [life[0], life[2], life[1], life[3], life[4]]).inOrder, false);
  assert.deepEqual(checkDelivery(produced, [...life, ev('z', 'new', 9)]).unexpected, ['z:new:9']);
  assert.deepEqual(checkDelivery(produced, [life[1], life[0], life[2], life[3], life[4]]).badLives, ['a: update new end']);
  assert.deepEqual(checkDelivery(produced, life.slice(0, 4)).badLives, ['b: new']);
  assert.deepEqual(checkDelivery(produced, life.slice(0, 4), { requireEnd: false }).badLives, []);
});

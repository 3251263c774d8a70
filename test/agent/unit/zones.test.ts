import { test } from 'node:test';
import assert from 'node:assert/strict';
import { bottomCentre, pointInPolygon, zonesOf, type Point, type Zone } from '@kestrel/agent/track/zones';

const square: Point[] = [[0, 0], [100, 0], [100, 100], [0, 100]];
// An L: the square minus its top-right quarter.
const ell: Point[] = [[0, 0], [50, 0], [50, 50], [100, 50], [100, 100], [0, 100]];

test('point in polygon: inside, outside, and the notch of a concave polygon', () => {
  assert.equal(pointInPolygon([50, 50], square), true);
  assert.equal(pointInPolygon([150, 50], square), false);
  assert.equal(pointInPolygon([-1, 50], square), false);
  assert.equal(pointInPolygon([25, 25], ell), true);
  assert.equal(pointInPolygon([75, 25], ell), false, 'the notch is outside');
  assert.equal(pointInPolygon([75, 75], ell), true);
});

test('a point on the edge two zones share is in exactly one of them', () => {
  const left: Point[] = [[0, 0], [50, 0], [50, 100], [0, 100]];
  const right: Point[] = [[50, 0], [100, 0], [100, 100], [50, 100]];
  const top: Point[] = [[0, 0], [100, 0], [100, 50], [0, 50]];
  const bottom: Point[] = [[0, 50], [100, 50], [100, 100], [0, 100]];
  for (const y of [10, 50, 99]) assert.equal(Number(pointInPolygon([50, y], left)) + Number(pointInPolygon([50, y], right)), 1, `vertical edge at y=${y}`);
  for (const x of [10, 50, 99]) assert.equal(Number(pointInPolygon([x, 50], top)) + Number(pointInPolygon([x, 50], bottom)), 1, `horizontal edge at x=${x}`);
});

test('an object is in a zone by its bottom centre: feet in the zone, not the head', () => {
  const driveway: Zone = { name: 'driveway', polygon: [[0, 400], [640, 400], [640, 480], [0, 480]] };
  const porch: Zone = { name: 'porch', polygon: [[300, 0], [640, 0], [640, 300], [300, 300]] };
  assert.deepEqual(bottomCentre([100, 200, 200, 450]), [150, 450]);
  // Head in the porch polygon, feet on the driveway.
  assert.deepEqual(zonesOf([320, 100, 420, 450], [driveway, porch]), ['driveway']);
  // Box overlapping the driveway, feet above it.
  assert.deepEqual(zonesOf([100, 200, 200, 390], [driveway, porch]), []);
  assert.deepEqual(zonesOf([400, 100, 500, 250], [driveway, porch]), ['porch']);
  assert.deepEqual(zonesOf([400, 100, 500, 250], []), []);
});

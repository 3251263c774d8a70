import { test } from 'node:test';
import assert from 'node:assert/strict';
import { scenePlacement, type SceneOptions } from '@kestrel/agent/source/scene';
import { DEMO_SCENE, demoPlacement } from '@kestrel/agent/source/demo';

const base: Omit<SceneOptions, 'motion'> = { width: 640, height: 360, fps: 15, photo: 'x.png', photoWidth: 200, photoHeight: 200, top: 100 };

test('cross motion: enters on the left, leaves on the right, then is away for the gap', () => {
  const scene: SceneOptions = { ...base, motion: { kind: 'cross', crossSeconds: 10, gapSeconds: 2 } };
  const at = (s: number) => scenePlacement(scene, s * 1000);
  // Period 12 s; t = 0 (mod 12) starts fully off-screen on the left.
  assert.equal(at(1200), null, 'x = -200: just out of view');
  assert.deepEqual(at(1205), [220, 100, 420, 300], 'half way: x = -200 + 840/2 = 220');
  assert.deepEqual(at(1201), [0, 100, 84, 300], 'entering (x = -116): clipped at the left edge');
  assert.equal(at(1210.5), null, 'in the gap');
  assert.deepEqual(at(1205), at(1205 + 12), 'periodic');
});

test('bounce motion stays fully in view and turns at the edges', () => {
  const scene: SceneOptions = { ...base, motion: { kind: 'bounce', legSeconds: 8 } };
  for (let s = 0; s < 40; s += 0.37) {
    const box = scenePlacement(scene, 1_700_000_000_000 + s * 1000);
    assert.ok(box);
    assert.equal(box[2] - box[0], 200, 'never clipped');
    assert.ok(box[0] >= 0 && box[2] <= 640);
    assert.equal(box[0] % 2, 0, 'overlay puts it on even columns');
  }
  assert.deepEqual(scenePlacement(scene, 16_000 * 100), [0, 100, 200, 300], 'left edge at t = 0 (mod 16 s)');
  assert.deepEqual(scenePlacement(scene, 16_000 * 100 + 8000), [440, 100, 640, 300], 'right edge half a period later');
});

test('demoPlacement describes the shipped demo: a person 360 px tall in a 1280×720 room', () => {
  assert.equal(DEMO_SCENE.width, 1280);
  assert.equal(DEMO_SCENE.height, 720);
  const period = 15_000;
  const mid = demoPlacement(period * 1000 + 6000);
  assert.deepEqual(mid, [460, 250, 820, 610], 'half way across at 6 s of 12');
  assert.equal(demoPlacement(period * 1000 + 13_000), null, 'away during the 3 s gap');
});

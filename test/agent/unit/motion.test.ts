// Motion detection on synthetic letterboxed frames (a still scene with sensor noise, a moving
// square, lights switched on, dusk) and the gate that decides from it which frames go to inference.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import pino from 'pino';
import { letterboxGeometry, type Box, type LetterboxGeometry } from '@kestrel/core';
import { MotionDetector, MotionGate, type MotionFrame, type MotionGateSettings } from '@kestrel/agent/motion/index';
import { PrivacyMask } from '@kestrel/agent/privacy/privacy-mask';
import type { Frame } from '@kestrel/agent/source/types';

const SETTINGS = { threshold: 30, contourArea: 10, frameHeight: 100, lightningThreshold: 0.8 };
// A 1920×1080 camera letterboxed into a 416×416 input: the picture is 416×234, padded above and below.
const GEOMETRY = letterboxGeometry(1920, 1080, 416, 416);

/** Small deterministic PRNG, so the noise is the same on every run. */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => ((s = (s * 1664525 + 1013904223) >>> 0) / 2 ** 32);
}

interface Scene {
  /** Brightness added to the whole picture. */
  light?: number;
  /** A bright square, in source pixels. */
  square?: Box;
}

/** A textured street-like picture (gradient + stripes) with ±6 grey levels of noise per pixel, in the letterbox. */
function render(g: LetterboxGeometry, scene: Scene, random: () => number): MotionFrame & Frame {
  const { dstWidth: w, dstHeight: h } = g;
  const data = new Uint8Array(w * h * 3).fill(114);
  const light = scene.light ?? 0;
  for (let y = Math.ceil(g.padY); y < g.padY + g.scaledHeight; y++) {
    for (let x = Math.ceil(g.padX); x < g.padX + g.scaledWidth; x++) {
      const sx = (x - g.padX) / g.scaleX;
      const sy = (y - g.padY) / g.scaleY;
      let v = 60 + (sy / g.srcHeight) * 80 + (Math.floor(sx / 120) % 2) * 25;
      const sq = scene.square;
      if (sq && sx >= sq[0] && sx < sq[2] && sy >= sq[1] && sy < sq[3]) v = 230;
      v += light + (random() - 0.5) * 12;
      const p = (y * w + x) * 3;
      data[p] = data[p + 1] = data[p + 2] = Math.max(0, Math.min(255, Math.round(v)));
    }
  }
  return { camera: 'test', seq: 0, data, width: w, height: h, geometry: g, capturedAt: 0 };
}

function contains(outer: Box, inner: Box, slack: number): boolean {
  return outer[0] <= inner[0] + slack && outer[1] <= inner[1] + slack && outer[2] >= inner[2] - slack && outer[3] >= inner[3] - slack;
}

test('a still scene with sensor noise has no motion after the first frame', () => {
  const detector = new MotionDetector(SETTINGS);
  const random = rng(1);
  const first = detector.detect(render(GEOMETRY, {}, random));
  assert.equal(first.recalibrated, true, 'the first frame is the background');
  for (let i = 0; i < 100; i++) {
    const r = detector.detect(render(GEOMETRY, {}, random));
    assert.deepEqual(r.boxes, [], `frame ${i}`);
    assert.equal(r.recalibrated, false);
  }
});

test('a moving square gives one box around it, in source pixels, in every frame it moves', () => {
  const detector = new MotionDetector(SETTINGS);
  const random = rng(2);
  detector.detect(render(GEOMETRY, {}, random));
  for (let i = 0; i < 20; i++) detector.detect(render(GEOMETRY, {}, random));
  for (let i = 0; i < 30; i++) {
    const x = 200 + i * 40;
    const square: Box = [x, 400, x + 160, 560];
    const r = detector.detect(render(GEOMETRY, { square }, random));
    assert.equal(r.boxes.length, 1, `frame ${i}: ${JSON.stringify(r.boxes)}`);
    const box = r.boxes[0]!;
    // One cell is 4 input pixels ≈ 18.5 source pixels; the dilation adds a cell on each side.
    assert.ok(contains(box, square, 20), `frame ${i}: ${JSON.stringify(box)} holds ${JSON.stringify(square)}`);
    assert.ok(box[2] - box[0] < 160 + 40 * 8 && box[3] - box[1] < 160 + 4 * 19, `frame ${i}: ${JSON.stringify(box)} is about the square and its trail`);
    assert.ok(r.changed > 0 && r.changed < 0.1);
  }
});

test('something too small for contourArea is not motion', () => {
  const detector = new MotionDetector({ ...SETTINGS, contourArea: 200 });
  const random = rng(3);
  detector.detect(render(GEOMETRY, {}, random));
  for (let i = 0; i < 10; i++) {
    const x = 300 + i * 40;
    assert.deepEqual(detector.detect(render(GEOMETRY, { square: [x, 400, x + 60, 460] }, random)).boxes, []);
  }
});

test('lights switched on recalibrate once, with no storm of motion after', () => {
  const detector = new MotionDetector(SETTINGS);
  const random = rng(4);
  for (let i = 0; i < 10; i++) detector.detect(render(GEOMETRY, {}, random));
  const switched = detector.detect(render(GEOMETRY, { light: 70 }, random));
  assert.equal(switched.recalibrated, true);
  assert.deepEqual(switched.boxes, []);
  assert.ok(switched.changed > 0.8, `changed ${switched.changed}`);
  let recalibrations = 0;
  for (let i = 0; i < 50; i++) {
    const r = detector.detect(render(GEOMETRY, { light: 70 }, random));
    assert.deepEqual(r.boxes, [], `frame ${i} after the switch`);
    if (r.recalibrated) recalibrations++;
  }
  assert.equal(recalibrations, 0);
  // And motion is seen again in the new light.
  const r = detector.detect(render(GEOMETRY, { light: 70, square: [800, 300, 1000, 500] }, random));
  assert.equal(r.boxes.length, 1);
});

test('dusk (the light falling slowly) drifts into the background instead of showing as motion', () => {
  const detector = new MotionDetector(SETTINGS);
  const random = rng(5);
  for (let i = 0; i < 80; i++) {
    const r = detector.detect(render(GEOMETRY, { light: -i * 0.8 }, random));
    if (i > 0) {
      assert.deepEqual(r.boxes, [], `frame ${i}`);
      assert.equal(r.recalibrated, false, `frame ${i}`);
    }
  }
});

test('motion inside a privacy mask blanked before detection is not seen', () => {
  const logger = pino({ level: 'silent' });
  const mask = new PrivacyMask({ masks: [{ polygon: [[0, 0], [960, 0], [960, 1080], [0, 1080]] }], maskBeforeInference: true, logger });
  const detector = new MotionDetector(SETTINGS);
  const random = rng(6);
  const masked = (scene: Scene) => {
    const frame = render(GEOMETRY, scene, random);
    mask.apply(frame);
    return frame;
  };
  detector.detect(masked({}));
  for (let i = 0; i < 10; i++) {
    const x = 100 + i * 40;
    assert.deepEqual(detector.detect(masked({ square: [x, 400, x + 160, 560] })).boxes, [], 'left half is masked');
  }
  const right = detector.detect(masked({ square: [1400, 400, 1560, 560] }));
  assert.equal(right.boxes.length, 1, 'the right half is watched');
  assert.ok(right.boxes[0]![0] >= 960 - 40);
});

test('a geometry change (the camera changed resolution) starts a new background', () => {
  const detector = new MotionDetector(SETTINGS);
  const random = rng(7);
  for (let i = 0; i < 5; i++) detector.detect(render(GEOMETRY, {}, random));
  const other = letterboxGeometry(1280, 960, 416, 416);
  assert.equal(detector.detect(render(other, {}, random)).recalibrated, true);
  assert.deepEqual(detector.detect(render(other, {}, random)).boxes, []);
});

const GATE: MotionGateSettings = { ...SETTINGS, enabled: true, recheckSeconds: 5 };

test('the gate runs inference on motion, on tracks that need frames, on a recalibration and every recheckSeconds, and skips the rest', () => {
  const gate = new MotionGate(GATE);
  const random = rng(8);
  const fps = 5;
  const decisions: string[] = [];
  let t = 0;
  const step = (scene: Scene, tracks = false) => {
    const d = gate.decide(render(GEOMETRY, scene, random), t, tracks);
    t += 1000 / fps;
    decisions.push(d.reason);
    return d;
  };
  assert.equal(step({}).infer, true, 'the first frame');
  // 12 s of a still picture at 5 fps: inference at 5 s and 10 s only.
  for (let i = 0; i < 60; i++) step({});
  const still = decisions.slice(1);
  assert.equal(still.filter((r) => r === 'recheck').length, 2, still.join(' '));
  assert.equal(still.filter((r) => r === 'no_motion').length, 58);
  // Something walks in: every frame it moves.
  for (let i = 0; i < 10; i++) {
    const x = 100 + i * 60;
    const d = step({ square: [x, 300, x + 150, 600] });
    assert.equal(d.reason, 'motion', `frame ${i}`);
    assert.equal(d.infer, true);
  }
  // It stands still but the tracker still wants frames (a tentative or moving track).
  for (let i = 0; i < 5; i++) assert.equal(step({ square: [640, 300, 790, 600] }, true).infer, true);
  // The tracker is content (the track is stationary). The square melts into the running-average
  // background within ~30 frames (130 grey levels fading below 30 at 5% a frame); after that only
  // the rechecks run.
  const settled = [];
  for (let i = 0; i < 100; i++) settled.push(step({ square: [640, 300, 790, 600] }).reason);
  assert.ok(settled.slice(0, 40).includes('motion'), 'the fading square is motion for a while');
  const after = settled.slice(40);
  assert.deepEqual([...new Set(after)].sort(), ['no_motion', 'recheck'], after.join(' '));
  assert.ok(after.filter((r) => r === 'recheck').length <= 3);
  // Lights: inference once on the recalibration.
  const lights = step({ light: 80, square: [640, 300, 790, 600] });
  assert.deepEqual([lights.infer, lights.reason], [true, 'recalibrated']);
  assert.equal(step({ light: 80, square: [640, 300, 790, 600] }).infer, false);
});

test('with motion off the gate passes every frame and computes nothing', () => {
  const gate = new MotionGate({ ...GATE, enabled: false });
  const random = rng(9);
  for (let i = 0; i < 10; i++) {
    const d = gate.decide(render(GEOMETRY, {}, random), i * 200, false);
    assert.deepEqual([d.infer, d.reason, d.motion], [true, 'always', undefined]);
  }
});

test('a reset gate takes the next frame as its background and infers on it', () => {
  const gate = new MotionGate(GATE);
  const random = rng(10);
  gate.decide(render(GEOMETRY, {}, random), 0, false);
  assert.equal(gate.decide(render(GEOMETRY, {}, random), 200, false).infer, false);
  gate.reset();
  const d = gate.decide(render(GEOMETRY, {}, random), 400, false);
  assert.deepEqual([d.infer, d.reason], [true, 'recalibrated']);
});

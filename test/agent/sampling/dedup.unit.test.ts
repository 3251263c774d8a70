// Perceptual de-duplication: a dHash of the frame's picture tells "the same view again" from a
// new one, and the sampler drops near-duplicates of its recent samples (counted).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import sharp from 'sharp';
import { dhashRgb, hammingDistance, pictureRegion, RecentHashes, Sampler } from '@kestrel/agent/sampling/index';
import { det, manualClock, photoFrame, quietLogger, samplingConfig } from './support/frames.js';

const at = Date.UTC(2025, 0, 1);

test('dHash: the same picture hashes alike after JPEG and small light changes, other pictures differ in many bits', async () => {
  const astronaut = await photoFrame('astronaut');
  const region = pictureRegion(astronaut.geometry);
  const h = dhashRgb(astronaut.data, astronaut.width, region);
  assert.match(h, /^[0-9a-f]{16}$/);
  assert.equal(dhashRgb(astronaut.data, astronaut.width, region), h, 'deterministic');

  const brighter = await photoFrame('astronaut', { brighten: 12 });
  const jpegRoundTrip = await sharp(Buffer.from(astronaut.data), { raw: { width: 416, height: 416, channels: 3 } }).jpeg({ quality: 60 }).raw().toBuffer();
  const dBright = hammingDistance(h, dhashRgb(brighter.data, 416, region));
  const dJpeg = hammingDistance(h, dhashRgb(jpegRoundTrip, 416, region));
  const others = await Promise.all((['chelsea', 'coffee', 'motorcycle'] as const).map(async (name) => {
    const f = await photoFrame(name);
    return hammingDistance(h, dhashRgb(f.data, 416, pictureRegion(f.geometry)));
  }));
  // Numbers for the report: near-duplicates a few bits apart, other photos far.
  process.stderr.write(`dHash distances: brighter ${dBright}, JPEG q60 ${dJpeg}, other photos ${others.join(', ')}\n`);
  assert.ok(dBright <= 4, `brighter: ${dBright} bits`);
  assert.ok(dJpeg <= 4, `JPEG round trip: ${dJpeg} bits`);
  for (const d of others) assert.ok(d >= 16, `another photo only ${d} bits away`);
});

test('the hash ignores the letterbox padding: it is taken over the picture region only', async () => {
  const f = await photoFrame('chelsea');
  const region = pictureRegion(f.geometry);
  assert.ok(region.y > 0 || region.x > 0, 'the test photo is letterboxed');
  const repainted = f.data.slice();
  repainted.fill(0, 0, region.y * 416 * 3); // the top padding turns black
  assert.equal(dhashRgb(repainted, 416, region), dhashRgb(f.data, 416, region));
});

test('hammingDistance counts differing bits and refuses malformed hashes', () => {
  assert.equal(hammingDistance('0000000000000000', 'ffffffffffffffff'), 64);
  assert.equal(hammingDistance('00000000000000f0', '0000000100000000'), 5);
  assert.throws(() => hammingDistance('abc', '0000000000000000'), /16 hex digits/);
});

test('recent hashes are per camera, bounded, and forgotten after the window', () => {
  const recent = new RecentHashes({ maxDistance: 2, recent: 2, windowMs: 60_000 });
  recent.remember('door', '0000000000000000', at);
  assert.deepEqual(recent.nearDuplicate('door', '0000000000000003', at), { hash: '0000000000000000', distance: 2 });
  assert.equal(recent.nearDuplicate('door', '0000000000000007', at), undefined, '3 bits > maxDistance');
  assert.equal(recent.nearDuplicate('yard', '0000000000000000', at), undefined, 'other camera');
  recent.remember('door', 'ffffffffffffffff', at);
  recent.remember('door', 'f0f0f0f0f0f0f0f0', at);
  assert.equal(recent.nearDuplicate('door', '0000000000000000', at), undefined, 'only the 2 most recent are kept');
  assert.ok(recent.nearDuplicate('door', 'ffffffffffffffff', at + 59_000));
  assert.equal(recent.nearDuplicate('door', 'ffffffffffffffff', at + 61_000), undefined, 'older than the window');
});

test('the sampler keeps one of a run of near-identical frames, counts the others as duplicates, and keeps a new view', async () => {
  const clock = manualClock(at);
  const config = samplingConfig({ quota: {}, strategies: { uncertainty: { quota: {} } }, dedup: { maxDistance: 4, windowMinutes: 10 } });
  const sampler = new Sampler({ config, deviceId: 'pi', mqttPrefix: 'kestrel', logger: quietLogger, now: clock.now });
  await sampler.start();
  try {
    for (let i = 0; i < 5; i++) {
      sampler.consider(await photoFrame('astronaut', { brighten: i * 3, capturedAt: clock.now() }), [det('person', 0.5)], 'v1');
      clock.advance(1000);
    }
    sampler.consider(await photoFrame('motorcycle', { capturedAt: clock.now() }), [det('motorcycle', 0.5)], 'v1');
    await sampler.flush();
    let s = sampler.stats();
    assert.equal(s.kept, 2);
    assert.equal(s.dropped.duplicate, 4);
    assert.equal(s.strategies.uncertainty.droppedDuplicate, 4);
    assert.equal(s.buffer?.samples, 2);
    clock.advance(11 * 60_000);
    sampler.consider(await photoFrame('astronaut', { capturedAt: clock.now() }), [det('person', 0.5)], 'v1');
    await sampler.flush();
    s = sampler.stats();
    assert.equal(s.kept, 3, 'after the window the same view is new again');
  } finally {
    await sampler.stop();
  }
});

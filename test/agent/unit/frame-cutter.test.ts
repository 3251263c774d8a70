import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FrameCutter } from '@kestrel/agent/source/frame-cutter';

/** A stream of `count` frames whose bytes say which frame and offset they are. */
function stream(frameSize: number, count: number): Uint8Array {
  const out = new Uint8Array(frameSize * count);
  for (let i = 0; i < out.length; i++) out[i] = (Math.floor(i / frameSize) * 31 + (i % frameSize) * 7) & 0xff;
  return out;
}

function cutAll(data: Uint8Array, frameSize: number, chunkSizes: () => number): Uint8Array[] {
  const frames: Uint8Array[] = [];
  const cutter = new FrameCutter(frameSize, (f) => frames.push(f));
  for (let offset = 0; offset < data.length; ) {
    const n = Math.min(chunkSizes(), data.length - offset);
    cutter.push(data.subarray(offset, offset + n));
    offset += n;
  }
  return frames;
}

test('frames come out whole and in order, whatever the chunk boundaries', () => {
  const size = 48; // 4×4 RGB
  const data = stream(size, 25);
  const patterns: Record<string, () => number> = {
    'one byte at a time': () => 1,
    'exactly one frame': () => size,
    'a frame and a bit': () => size + 5,
    'several frames at once': () => size * 3 + 7,
    'everything at once': () => data.length,
    'random sizes': (() => {
      let seed = 7;
      return () => 1 + ((seed = (seed * 1103515245 + 12345) % 2 ** 31) % (size * 2));
    })(),
  };
  for (const [name, chunks] of Object.entries(patterns)) {
    const frames = cutAll(data, size, chunks);
    assert.equal(frames.length, 25, name);
    frames.forEach((f, i) => assert.deepEqual(f, data.subarray(i * size, (i + 1) * size), `${name}: frame ${i}`));
  }
});

test('each frame owns its whole buffer, so it can be transferred to a worker', () => {
  const size = 12;
  const frames = cutAll(stream(size, 3), size, () => 5);
  for (const f of frames) {
    assert.equal(f.byteOffset, 0);
    assert.equal(f.buffer.byteLength, size);
  }
  // Frames are distinct buffers: changing one leaves the next intact.
  frames[0].fill(0);
  assert.notDeepEqual(frames[1], new Uint8Array(size));
});

test('a partial frame is held (never more than one frame) and reset() drops it', () => {
  const size = 10;
  const frames: Uint8Array[] = [];
  const cutter = new FrameCutter(size, (f) => frames.push(f));
  cutter.push(new Uint8Array(25));
  assert.equal(frames.length, 2);
  assert.equal(cutter.pendingBytes, 5);
  cutter.reset();
  assert.equal(cutter.pendingBytes, 0);
  cutter.push(new Uint8Array(10).fill(9));
  assert.equal(frames.length, 3);
  assert.deepEqual(frames[2], new Uint8Array(10).fill(9), 'after reset the next frame starts at the next byte');
});

test('a frame size that is not a positive whole number is refused', () => {
  assert.throws(() => new FrameCutter(0, () => {}), /positive integer/);
  assert.throws(() => new FrameCutter(10.5, () => {}), /positive integer/);
});

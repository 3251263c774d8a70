// The clips section of a camera: defaults, every bad value named by its path, the sources and
// privacy settings that cannot have clips, and the recorder's ffmpeg command line built from it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkConfig, type CameraConfig } from '@kestrel/config';
import { createLogger } from '@kestrel/core';
import { inputFor } from '@kestrel/agent';
import { buildRecorderArgs, CameraClips, ClipsPart, MAX_PENDING } from '@kestrel/agent/clips/index';

function check(camera: string): ReturnType<typeof checkConfig> {
  return checkConfig({ text: `cameras:\n  - { name: door, ${camera} }\n` });
}

function errors(camera: string): Array<{ path: string; message: string }> {
  const r = check(camera);
  assert.ok(!r.ok, `expected errors for ${camera}`);
  return r.errors.map((e) => ({ path: e.path, message: e.message }));
}

const FILE = 'source: { type: file, path: /videos/door.mp4 }';
const RTSP = 'source: { type: rtsp, url: "rtsp://cam.local/stream1" }';

test('clips are off by default, with Frigate-like margins and bounded disk', () => {
  const r = check(FILE);
  assert.ok(r.ok);
  assert.deepEqual(r.config.cameras[0]!.clips, { enabled: false, preSeconds: 5, postSeconds: 5, segmentSeconds: 2, maxSeconds: 300, retainHours: 24, maxBytes: 1024 * 2 ** 20 });
  const on = check(`${RTSP}, clips: { enabled: true, preSeconds: 0, maxBytes: 200MB }`);
  assert.ok(on.ok, JSON.stringify(!on.ok && on.errors));
  assert.equal(on.config.cameras[0]!.clips.preSeconds, 0);
  assert.equal(on.config.cameras[0]!.clips.maxBytes, 200_000_000);
});

test('a bad clips value is an error naming its path', () => {
  const cases: Array<[string, string, RegExp]> = [
    ['preSeconds: -1', 'cameras[0].clips.preSeconds', />= 0/],
    ['postSeconds: 61', 'cameras[0].clips.postSeconds', /<= 60/],
    ['segmentSeconds: 0.5', 'cameras[0].clips.segmentSeconds', /at least 1/],
    ['maxSeconds: 0', 'cameras[0].clips.maxSeconds', />0|positive|> 0/],
    ['retainHours: 0', 'cameras[0].clips.retainHours', />0|positive|> 0/],
    ['maxBytes: lots', 'cameras[0].clips.maxBytes', /size such as "64MiB"/],
    ['enabled: yes please', 'cameras[0].clips.enabled', /boolean/],
    ['keep: 3', 'cameras[0].clips.keep', /unknown key/],
  ];
  for (const [value, path, message] of cases) {
    const found = errors(`${FILE}, clips: { ${value} }`);
    const hit = found.find((e) => e.path === path);
    assert.ok(hit, `${value}: an error at ${path}, got ${JSON.stringify(found)}`);
    assert.match(hit.message, message, value);
  }
});

test('clips need an encoded stream to copy, and refuse a camera with privacy masks', () => {
  for (const source of ['source: { type: demo }', 'source: { type: v4l2 }']) {
    const [e] = errors(`${source}, clips: { enabled: true }`);
    assert.equal(e!.path, 'cameras[0].clips.enabled');
    assert.match(e!.message, /need an rtsp or file source/);
  }
  const [fast] = errors('source: { type: file, path: /videos/door.mp4, realtime: false }, clips: { enabled: true }');
  assert.equal(fast!.path, 'cameras[0].clips.enabled');
  assert.match(fast!.message, /realtime: true/);
  // Off, the same cameras are fine.
  assert.ok(check('source: { type: demo }, clips: { enabled: false }').ok);
  const [masked] = errors(`${RTSP}, privacy: { masks: [{ polygon: [[0, 0], [100, 0], [100, 100]] }] }, clips: { enabled: true }`);
  assert.equal(masked!.path, 'cameras[0].clips.enabled');
  assert.match(masked!.message, /privacy masks/);
});

test('the recorder copies the camera\'s first video stream into MPEG-TS segments with their list, never decoding', () => {
  const r = check(`${RTSP}, clips: { enabled: true, segmentSeconds: 3 }`);
  assert.ok(r.ok);
  const camera: CameraConfig = r.config.cameras[0]!;
  assert.equal(camera.source.type, 'rtsp');
  const args = buildRecorderArgs(inputFor(camera.source), { major: 6, minor: 0 }, { dir: '/state/clips/door/ring', run: 1_765_000_000_000, segmentSeconds: 3, listSize: 120 });
  const after = (flag: string) => args[args.indexOf(flag) + 1];
  assert.equal(after('-i'), 'rtsp://cam.local/stream1');
  assert.equal(after('-rtsp_transport'), 'tcp');
  assert.equal(after('-map'), '0:v:0');
  assert.equal(after('-c'), 'copy');
  assert.equal(after('-f'), 'segment');
  assert.equal(after('-segment_time'), '3');
  assert.equal(after('-segment_format'), 'mpegts');
  assert.equal(after('-segment_list'), '/state/clips/door/ring/1765000000000.csv');
  assert.equal(after('-segment_list_size'), '120');
  assert.equal(args.at(-1), '/state/clips/door/ring/1765000000000-%06d.ts');
  // Nothing that would make ffmpeg decode or re-encode.
  for (const flag of ['-vf', '-filter_complex', '-pix_fmt', '-c:v', '-vcodec']) assert.ok(!args.includes(flag), flag);
});

test('a state folder the clips cannot be written to leaves the camera without clips, and says why', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'kestrel-clips-cfg-'));
  try {
    // A file where the state folder should be: nothing can be made under it.
    const stateDir = join(dir, 'state');
    writeFileSync(stateDir, 'not a folder');
    const r = check(`${FILE}, clips: { enabled: true }`);
    assert.ok(r.ok);
    const part = new ClipsPart({ stateDir, ffmpegPath: 'ffmpeg', onClip: () => undefined, logger: createLogger('clips-cfg', { level: 'silent' }) });
    assert.equal(await part.forCamera(r.config.cameras[0]!), undefined);
    const [reason] = part.degraded();
    assert.match(reason ?? '', /camera door records no clips: cannot make the clips folder .*state\/clips\/door/);
    await part.stop(1000);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the clips waiting for their post window are bounded: one more is dropped and counted, and a stop out of time drops the rest', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'kestrel-clips-cfg-'));
  try {
    const r = check(`${FILE}, clips: { enabled: true, postSeconds: 60 }`);
    assert.ok(r.ok);
    const camera = r.config.cameras[0]!;
    const clips = new CameraClips(camera.name, camera.clips, camera.source, { stateDir: dir, ffmpegPath: 'ffmpeg', onClip: () => assert.fail('no clip is due'), logger: createLogger('clips-cfg', { level: 'silent' }) });
    const now = Date.now();
    for (let i = 0; i <= MAX_PENDING; i++) clips.objectEnded({ trackId: `${now}-${String(i).padStart(8, '0')}`, label: 'person', firstSeen: now - 1000, lastSeen: now });
    assert.equal(clips.counters.dropped, 1, 'the one over the bound');
    // An id that is no file name gets no clip (and climbs no folder).
    clips.objectEnded({ trackId: '../../etc/passwd', label: 'person', firstSeen: now - 1000, lastSeen: now });
    assert.equal(clips.counters.failed, 1);
    await clips.stop(0);
    assert.equal(clips.counters.dropped, 1 + MAX_PENDING, 'no time left to make the waiting ones');
    assert.equal(clips.counters.made, 0);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

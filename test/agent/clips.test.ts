// Event clips with real ffmpeg: a file camera's stream copied into the ring of MPEG-TS segments,
// an object's clip joined from them (pre + object + post, the input's codec untouched, moov before
// mdat), served over HTTP with byte ranges, the ring emptied behind it, the recorder restarted
// after it dies or while an RTSP camera sends nothing, stopped cleanly, and finished clips expired
// by age and by bytes.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { createLogger } from '@kestrel/core';
import { checkConfig, type CameraConfig } from '@kestrel/config';
import { HealthServer } from '@kestrel/agent';
import { CameraClips, readMp4Info, type ClipNotice } from '@kestrel/agent/clips/index';
import { waitFor } from './support/agent-process.js';
import { processGone } from './support/sources.js';
import { startRtspServer } from '../support/rtsp.js';

const run = promisify(execFile);
const dir = mkdtempSync(join(tmpdir(), 'kestrel-clips-'));
const video = join(dir, 'in.mp4');
const logger = createLogger('clips-test', { level: 'error' });
const open: CameraClips[] = [];

before(async () => {
  // H.264 at 10 fps with a keyframe every second, 12 s long (played in a loop): segments of 1 s can be cut.
  await run('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-f', 'lavfi', '-i', 'testsrc2=size=320x240:rate=10', '-t', '12', '-c:v', 'libx264', '-preset', 'ultrafast', '-profile:v', 'main', '-g', '10', '-pix_fmt', 'yuv420p', video]);
});

after(async () => {
  await Promise.allSettled(open.map((c) => c.stop(1000)));
  rmSync(dir, { recursive: true, force: true });
});

/** A camera's parsed config, as the agent hands it over. */
function camera(clips: string, source = `{ type: file, path: "${video}", loop: true }`): CameraConfig {
  const r = checkConfig({ text: `cameras:\n  - { name: door, source: ${source}, clips: ${clips} }\n` });
  assert.ok(r.ok, JSON.stringify(!r.ok && r.errors));
  return r.config.cameras[0]!;
}

function clipsFor(config: CameraConfig, stateDir: string, onClip: (c: ClipNotice) => void): CameraClips {
  const clips = new CameraClips(config.name, config.clips, config.source, { stateDir, ffmpegPath: 'ffmpeg', onClip, logger });
  open.push(clips);
  return clips;
}

async function probe(path: string): Promise<{ codec: string; profile: string; width: number; height: number; duration: number }> {
  const { stdout } = await run('ffprobe', ['-v', 'error', '-select_streams', 'v:0', '-show_entries', 'stream=codec_name,profile,width,height:format=duration', '-of', 'json', path]);
  const j = JSON.parse(stdout) as { streams: Array<{ codec_name: string; profile: string; width: number; height: number }>; format: { duration: string } };
  const s = j.streams[0]!;
  return { codec: s.codec_name, profile: s.profile, width: s.width, height: s.height, duration: Number(j.format.duration) };
}

/** Top-level MP4 boxes, read here on their own (not through the agent's reader). */
function topBoxes(path: string): string[] {
  const buf = readFileSync(path);
  const boxes: string[] = [];
  for (let at = 0; at + 8 <= buf.length; ) {
    let size = buf.readUInt32BE(at);
    if (size === 1) size = Number(buf.readBigUInt64BE(at + 8));
    boxes.push(buf.toString('latin1', at + 4, at + 8));
    if (size < 8) break;
    at += size;
  }
  return boxes;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test('an object\'s clip: pre + object + post from the ring, the input\'s codec copied, moov before mdat, served over HTTP', { timeout: 40_000 }, async () => {
  const stateDir = join(dir, 'one');
  const config = camera('{ enabled: true, preSeconds: 1, postSeconds: 1, segmentSeconds: 1 }');
  const notices: ClipNotice[] = [];
  const ring = join(stateDir, 'clips', 'door', 'ring');
  const ringAges = () => readdirSync(ring).filter((n) => n.endsWith('.ts')).map((n) => Date.now() - statSync(join(ring, n)).mtimeMs);
  // The ring when the clip is announced, before any sweep after it.
  let ringAtClip: number[] = [];
  const clips = clipsFor(config, stateDir, (c) => {
    ringAtClip = ringAges();
    notices.push(c);
  });
  await clips.start();
  await waitFor('ring segments', 10_000, () => readdirSync(ring).filter((n) => n.endsWith('.ts')).length >= 3 || undefined);

  // An object seen for 3 s, longer than the pre window: the ring must keep its start meanwhile.
  const firstSeen = Date.now();
  clips.objectStarted('1700000000000-abcd1234', firstSeen);
  await sleep(3000);
  const lastSeen = Date.now();
  clips.objectEnded({ trackId: '1700000000000-abcd1234', label: 'person', firstSeen, lastSeen });
  assert.equal(notices.length, 0, 'the clip waits for the post window');
  const notice = await waitFor('the clip', 15_000, () => notices[0]);

  const path = join(stateDir, 'clips', 'door', '1700000000000-abcd1234.mp4');
  const wanted = (lastSeen - firstSeen) / 1000 + 1 + 1;
  const [input, clip] = await Promise.all([probe(video), probe(path)]);
  // Exact to one segment at the start (cut at a keyframe) and capped at the end.
  assert.ok(clip.duration >= wanted - 1.1 && clip.duration <= wanted + 0.6, `clip lasts ${clip.duration}s, wanted ${wanted}s`);
  assert.deepEqual([clip.codec, clip.profile, clip.width, clip.height], [input.codec, input.profile, input.width, input.height], 'copied, not re-encoded');
  const boxes = topBoxes(path);
  assert.ok(boxes.includes('moov') && boxes.indexOf('moov') < boxes.indexOf('mdat'), `faststart: moov before mdat (${boxes.join(',')})`);
  assert.deepEqual((await readMp4Info(path)).boxes, boxes);

  assert.equal(notice.camera, 'door');
  assert.equal(notice.trackId, '1700000000000-abcd1234');
  assert.equal(notice.label, 'person');
  assert.equal(notice.bytes, statSync(path).size);
  assert.ok(Math.abs(notice.durationS - clip.duration) < 0.15, `the notice's duration ${notice.durationS} is the file's ${clip.duration}`);
  assert.ok(notice.start <= firstSeen - 500 && notice.end >= lastSeen + 900, `the notice covers the margins (${firstSeen - notice.start} ms before, ${notice.end - lastSeen} ms after)`);
  assert.equal(notice.path, '/api/cameras/door/clip/1700000000000-abcd1234.mp4');
  assert.equal(notice.truncated, undefined);

  // HTTP: the whole file, a byte range, and what is not there.
  const server = new HealthServer({
    host: '127.0.0.1', port: 0, logger, metricsContentType: 'text/plain',
    health: () => ({ status: 'ok' }) as never, metrics: async () => '',
    clip: (cam, id) => (cam === 'door' ? clips.find(id) : undefined),
  });
  const address = await server.start();
  try {
    const url = `http://127.0.0.1:${address.port}`;
    const whole = await fetch(`${url}${notice.path}`);
    assert.equal(whole.status, 200);
    assert.equal(whole.headers.get('content-type'), 'video/mp4');
    assert.deepEqual(Buffer.from(await whole.arrayBuffer()), readFileSync(path));
    const part = await fetch(`${url}${notice.path}`, { headers: { Range: 'bytes=4-11' } });
    assert.equal(part.status, 206);
    assert.equal(part.headers.get('content-range'), `bytes 4-11/${notice.bytes}`);
    assert.deepEqual(Buffer.from(await part.arrayBuffer()), readFileSync(path).subarray(4, 12));
    assert.equal((await fetch(`${url}${notice.path}`, { headers: { Range: 'bytes=99999999-' } })).status, 416);
    assert.equal((await fetch(`${url}/api/cameras/door/clip/nosuch.mp4`)).status, 404);
    assert.equal((await fetch(`${url}/api/cameras/yard/clip/1700000000000-abcd1234.mp4`)).status, 404);
    assert.equal((await fetch(`${url}/api/cameras/door/clip/..%2F..%2Fetc.mp4`)).status, 404, 'an id that climbs folders is no clip');
  } finally {
    await server.stop();
  }

  // The ring behind the clip: the segments the object held are deleted, back to about the pre window.
  assert.ok(Math.max(...ringAtClip) > 4000, `while the clip was made the ring held the object's time (${Math.max(...ringAtClip)} ms)`);
  const ages = await waitFor('the ring back to the pre window', 5000, () => {
    const now = ringAges();
    return Math.max(...now) <= (1 + 1 + 1) * 1000 ? now : undefined;
  });
  assert.ok(ages.length <= 4, `${ages.length} segments left`);
  assert.ok(clips.counters.segmentsDeleted >= 3, `${clips.counters.segmentsDeleted} segments deleted`);
  assert.deepEqual([clips.counters.made, clips.counters.failed, clips.counters.dropped], [1, 0, 0]);
  assert.equal(clips.counters.bytes, notice.bytes);

  // Stopping ends ffmpeg (it closes its segment), and nothing is left running.
  const pid = clips.recorderStatus().pid;
  assert.ok(pid !== undefined);
  await clips.stop();
  assert.ok(processGone(pid!), 'the recorder\'s ffmpeg has exited');
  assert.equal(clips.recorderStatus().state, 'stopped');
});

test('the recorder comes back after its ffmpeg dies, and an object ended just before a stop still gets its clip', { timeout: 30_000 }, async () => {
  const stateDir = join(dir, 'two');
  const config = camera('{ enabled: true, preSeconds: 1, postSeconds: 5, segmentSeconds: 1 }');
  const notices: ClipNotice[] = [];
  const clips = clipsFor(config, stateDir, (c) => notices.push(c));
  await clips.start();
  const first = await waitFor('the recorder running', 10_000, () => clips.recorderStatus().pid);
  await sleep(1500);
  process.kill(first, 'SIGKILL');
  const second = await waitFor('a new recorder', 10_000, () => {
    const s = clips.recorderStatus();
    return s.pid !== undefined && s.pid !== first ? s : undefined;
  });
  assert.equal(second.restarts, 1);
  assert.match(second.lastError ?? '', /SIGKILL/);
  const ring = join(stateDir, 'clips', 'door', 'ring');
  await waitFor('segments of the new run', 10_000, () => readdirSync(ring).some((n) => n.startsWith(String(second.liveRun))) || undefined);
  await sleep(1500);

  // Ended with 5 s of post window to go: the stop makes the clip from what was recorded.
  const now = Date.now();
  clips.objectStarted('1700000000001-00000001', now - 1000);
  clips.objectEnded({ trackId: '1700000000001-00000001', label: 'car', firstSeen: now - 1000, lastSeen: now });
  await clips.stop(5000);
  assert.equal(notices.length, 1, 'made at stop');
  assert.equal(notices[0]!.label, 'car');
  const made = await probe(join(stateDir, 'clips', 'door', '1700000000001-00000001.mp4'));
  assert.equal(made.codec, 'h264');
  assert.ok(made.duration >= 1.5, `${made.duration}s`);
});

test('finished clips go by age and by the camera\'s byte budget, the newest kept; a ring left by an earlier run is swept', { timeout: 30_000 }, async () => {
  const stateDir = join(dir, 'three');
  const config = camera('{ enabled: true, preSeconds: 1, postSeconds: 0, segmentSeconds: 1, retainHours: 1, maxBytes: 2MB }');
  const clipDir = join(stateDir, 'clips', 'door');
  mkdirSync(clipDir, { recursive: true });
  // One clip from two days ago, and one recent that fills the budget on its own.
  writeFileSync(join(clipDir, 'old.mp4'), Buffer.alloc(1000));
  const twoDaysAgo = (Date.now() - 48 * 3_600_000) / 1000;
  utimesSync(join(clipDir, 'old.mp4'), twoDaysAgo, twoDaysAgo);
  writeFileSync(join(clipDir, 'big.mp4'), Buffer.alloc(2_000_000));
  const minuteAgo = (Date.now() - 60_000) / 1000;
  utimesSync(join(clipDir, 'big.mp4'), minuteAgo, minuteAgo);

  // A ring left by an agent that ran an hour ago: its segments and list go at the first sweep.
  const ring = join(clipDir, 'ring');
  mkdirSync(ring);
  const oldRun = Date.now() - 3_600_000;
  for (const seq of ['000000', '000001']) {
    writeFileSync(join(ring, `${oldRun}-${seq}.ts`), Buffer.alloc(188));
    utimesSync(join(ring, `${oldRun}-${seq}.ts`), oldRun / 1000, oldRun / 1000);
  }
  writeFileSync(join(ring, `${oldRun}.csv`), `${oldRun}-000000.ts,0.000000,2.000000\n`);

  const notices: ClipNotice[] = [];
  const clips = clipsFor(config, stateDir, (c) => notices.push(c));
  await clips.start();
  await sleep(2500);
  assert.deepEqual(readdirSync(ring).filter((n) => n.startsWith(String(oldRun))), [], 'the old run is swept');
  assert.ok(clips.counters.segmentsDeleted >= 2);
  const now = Date.now();
  clips.objectEnded({ trackId: '1700000000002-00000002', label: 'dog', firstSeen: now - 500, lastSeen: now });
  await waitFor('the clip', 10_000, () => notices[0]);
  const left = readdirSync(clipDir).filter((n) => n.endsWith('.mp4')).sort();
  assert.deepEqual(left, ['1700000000002-00000002.mp4'], 'the old clip went by age, the big one by bytes');
  assert.equal(clips.counters.clipsDeleted, 2);
  await clips.stop();
});

test('an RTSP camera that stops sending: the recorder that writes nothing is restarted, and records again when the camera is back', { timeout: 40_000 }, async () => {
  const server = await startRtspServer({ photo: 'astronaut' });
  try {
    const config = camera('{ enabled: true, preSeconds: 1, postSeconds: 1, segmentSeconds: 1 }', `{ type: rtsp, url: "${server.url}", transport: udp }`);
    const stateDir = join(dir, 'four');
    const clips = new CameraClips(config.name, config.clips, config.source, { stateDir, ffmpegPath: 'ffmpeg', onClip: () => undefined, logger, stallMs: 2500 });
    open.push(clips);
    await clips.start();
    const ring = join(stateDir, 'clips', 'door', 'ring');
    const newest = () => Math.max(0, ...readdirSync(ring).filter((n) => n.endsWith('.ts')).map((n) => statSync(join(ring, n)).mtimeMs));
    await waitFor('segments from the camera', 15_000, () => readdirSync(ring).filter((n) => n.endsWith('.ts')).length >= 2 || undefined);
    await server.stopPublisher();
    const restarted = await waitFor('the silent recorder restarted', 15_000, () => {
      const s = clips.recorderStatus();
      return s.restarts >= 1 ? s : undefined;
    });
    assert.match(restarted.lastError ?? '', /no video written for 3s/);
    await server.startPublisher();
    const back = Date.now();
    await waitFor('segments again', 20_000, () => (newest() > back + 500 ? true : undefined));
    await clips.stop();
  } finally {
    await server.stop();
  }
});

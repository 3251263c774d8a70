// `kestrel detect` as `yolo predict`: folders, globs, videos and streams, run folders that never
// overwrite each other, YOLO labels, a JSON summary, and bad inputs skipped while the rest run.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { copyFileSync, createReadStream, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { testImage } from '../support/images.js';
import { kestrelArgs, runKestrel } from '../support/cli.js';
import { startRtspServer, type RtspTestServer } from '../support/rtsp.js';
import { freePort } from '../support/ports.js';

let dir: string;
let clip: string;
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'kestrel-predict-'));
  mkdirSync(join(dir, 'shots'));
  copyFileSync(testImage('coffee'), join(dir, 'shots', 'coffee.png'));
  copyFileSync(testImage('chelsea'), join(dir, 'shots', 'chelsea.png'));
  writeFileSync(join(dir, 'shots', 'broken.jpg'), 'not a picture at all');
  writeFileSync(join(dir, 'shots', 'notes.txt'), 'a folder holds more than pictures');
  // A 2 s clip of the astronaut at 10 fps (20 frames), 512×512: a person in every frame. The index
  // first (faststart), as videos meant for the web are: the test's HTTP server answers no Range
  // requests, and without them ffmpeg cannot reach an index at the end.
  clip = join(dir, 'astronaut.mp4');
  execFileSync('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-loop', '1', '-i', testImage('astronaut'), '-t', '2', '-r', '10', '-vf', 'scale=512:512', '-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p', '-movflags', '+faststart', clip]);
});
after(() => rmSync(dir, { recursive: true, force: true }));

interface Summary {
  ok: boolean;
  runDir?: string;
  images: { image: string; width: number; height: number; annotated?: string; detections: { label: string; classId: number; box: number[] }[] }[];
  videos: { video: string; kind: string; width: number; height: number; framesRead: number; stoppedBy: string; frames: { frame: number; annotated?: string; detections: { label: string; box: number[] }[] }[] }[];
  failed: { source: string; error: { code: string; message: string } }[];
}

test('a folder, a glob and a video in one run: the broken file is skipped with a warning, the rest is written to runs/detect/predict, exit 1', { timeout: 120_000 }, async () => {
  const cwd = mkdtempSync(join(dir, 'run-'));
  const r = await runKestrel(['detect', join(dir, 'shots'), join(dir, 'shots', 'c*.png'), clip, '--vid-stride', '5', '--save-txt', '--json'], { cwd });
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stderr, /skipping .*broken\.jpg: .*broken\.jpg is not a readable image/);
  const doc = JSON.parse(r.stdout) as Summary;
  assert.equal(doc.ok, false);
  assert.deepEqual(doc.failed.map((f) => [f.source.endsWith('broken.jpg'), f.error.code]), [[true, 'E_IMAGE_DECODE']]);
  const runDir = join(cwd, 'runs', 'detect', 'predict');
  assert.equal(doc.runDir, runDir);
  // The folder's two images (not notes.txt), then the glob's two: four reports, four files kept apart.
  assert.deepEqual(doc.images.map((i) => i.image.split('/').pop()), ['chelsea.png', 'coffee.png', 'chelsea.png', 'coffee.png']);
  assert.deepEqual(doc.images.map((i) => i.annotated!.split('/').pop()), ['chelsea.jpg', 'coffee.jpg', 'chelsea_2.jpg', 'coffee_2.jpg']);
  assert.ok(doc.images[0].detections.some((d) => d.label === 'cat'));
  // The video: 20 frames decoded, every 5th seen by the model, a person in each.
  const video = doc.videos[0];
  assert.equal(video.framesRead, 20);
  assert.equal(video.stoppedBy, 'end');
  assert.deepEqual([video.width, video.height], [512, 512]);
  assert.deepEqual(video.frames.map((f) => f.frame), [0, 5, 10, 15]);
  for (const f of video.frames) {
    const person = f.detections.find((d) => d.label === 'person');
    assert.ok(person, `frame ${f.frame}: ${f.detections.map((d) => d.label).join(', ')}`);
    const meta = await sharp(f.annotated!).metadata();
    assert.deepEqual([meta.format, meta.width, meta.height], ['jpeg', 512, 512]);
  }
  // YOLO labels: class cx cy w h in 0..1 of the picture; the person of frame 5 where the JSON says.
  const labels = readdirSync(join(runDir, 'labels')).sort();
  assert.ok(labels.includes('astronaut_5.txt') && labels.includes('chelsea_2.txt'), labels.join(' '));
  const person = video.frames[1].detections.find((d) => d.label === 'person')!;
  const line = readFileSync(join(runDir, 'labels', 'astronaut_5.txt'), 'utf8').split('\n').find((l) => l.startsWith('0 '))!;
  const [, cx, cy, w, h] = line.split(' ').map(Number);
  assert.ok(Math.abs(cx - (person.box[0] + person.box[2]) / 2 / 512) < 1e-3 && Math.abs(w - (person.box[2] - person.box[0]) / 512) < 1e-3, line);
  assert.ok(cy > 0 && cy < 1 && h > 0 && h <= 1, line);
  // The summary is in the run folder too.
  assert.deepEqual(JSON.parse(readFileSync(join(runDir, 'predictions.json'), 'utf8')), doc);
});

test('run folders never overwrite each other: predict, predict2, then --exist-ok and --name', { timeout: 120_000 }, async () => {
  const cwd = mkdtempSync(join(dir, 'incr-'));
  const image = testImage('coffee');
  for (const _ of [1, 2]) assert.equal((await runKestrel(['detect', image], { cwd })).code, 0);
  assert.deepEqual(readdirSync(join(cwd, 'runs', 'detect')).sort(), ['predict', 'predict2']);
  const again = await runKestrel(['detect', image, '--exist-ok', '--json'], { cwd });
  assert.equal(JSON.parse(again.stdout).runDir, join(cwd, 'runs', 'detect', 'predict'));
  const named = await runKestrel(['detect', image, '--project', 'out', '--name', 'shop', '--json'], { cwd });
  assert.equal(JSON.parse(named.stdout).images[0].annotated, join(cwd, 'out', 'shop', 'coffee.jpg'));
  assert.ok(existsSync(join(cwd, 'out', 'shop', 'predictions.json')));
  // --no-save without --save-txt writes nothing at all.
  const nothing = await runKestrel(['detect', image, '--no-save', '--name', 'none'], { cwd });
  assert.equal(nothing.code, 0);
  assert.ok(!existsSync(join(cwd, 'runs', 'detect', 'none')));
});

test('inputs that are not there: one alone is the error (exit 2), among others it is skipped (exit 1); a glob or folder without pictures is named', { timeout: 120_000 }, async () => {
  const cwd = mkdtempSync(join(dir, 'missing-'));
  const r = await runKestrel(['detect', testImage('coffee'), join(dir, 'nope.jpg'), '--no-save'], { cwd });
  assert.equal(r.code, 1);
  assert.match(r.stderr, /skipping .*nope\.jpg: image not found/);
  assert.match(r.stdout, /coffee\.png \(600x400/);
  // A camera that refuses: skipped like a bad file, and its password never printed.
  const port = await freePort();
  const camera = await runKestrel(['detect', `rtsp://admin:hunter2@127.0.0.1:${port}/cam`, testImage('coffee'), '--no-save', '--json'], { cwd });
  assert.equal(camera.code, 1, camera.stderr);
  assert.match(camera.stderr, /skipping rtsp:\/\/\*\*\*@127\.0\.0\.1:\d+\/cam: .*could not be read/);
  assert.doesNotMatch(camera.stderr + camera.stdout, /hunter2/);
  assert.equal((JSON.parse(camera.stdout) as Summary).failed[0].error.code, 'E_VIDEO');
  const glob = await runKestrel(['detect', join(dir, 'shots', '*.gif'), '--no-save'], { cwd });
  assert.equal(glob.code, 2);
  assert.match(glob.stderr, /no images or videos match .*\*\.gif/);
  const stride = await runKestrel(['detect', clip, '--vid-stride', '0'], { cwd });
  assert.equal(stride.code, 2);
  assert.match(stride.stderr, /--vid-stride must be a positive whole number/);
});

test('a video that is not one is skipped with ffmpeg\'s reason', { timeout: 120_000 }, async () => {
  const cwd = mkdtempSync(join(dir, 'badvideo-'));
  const fake = join(cwd, 'fake.mp4');
  writeFileSync(fake, 'no video here');
  const r = await runKestrel(['detect', fake, testImage('chelsea'), '--json', '--no-save'], { cwd });
  assert.equal(r.code, 1, r.stderr);
  const doc = JSON.parse(r.stdout) as Summary;
  assert.equal(doc.failed[0].error.code, 'E_VIDEO');
  assert.match(doc.failed[0].error.message, /fake\.mp4 could not be read: ffmpeg exited with code \d+ \(ffmpeg said: .*Invalid data/);
  assert.equal(doc.images.length, 1);
});

test('a video over HTTP is read once like a file', { timeout: 120_000 }, async () => {
  const server = createServer((req, res) => {
    if (req.url !== '/clips/astronaut.mp4') return void res.writeHead(404).end();
    res.writeHead(200, { 'content-type': 'video/mp4' });
    createReadStream(clip).pipe(res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    const { port } = server.address() as AddressInfo;
    const cwd = mkdtempSync(join(dir, 'http-'));
    const r = await runKestrel(['detect', `http://127.0.0.1:${port}/clips/astronaut.mp4`, '--vid-stride', '10', '--json'], { cwd });
    assert.equal(r.code, 0, r.stderr);
    const video = (JSON.parse(r.stdout) as Summary).videos[0];
    assert.deepEqual([video.kind, video.framesRead, video.stoppedBy], ['video', 20, 'end']);
    assert.deepEqual(video.frames.map((f) => f.frame), [0, 10]);
    assert.ok(existsSync(join(cwd, 'runs', 'detect', 'predict', 'astronaut_10.jpg')));
  } finally {
    server.close();
  }
});

let rtsp: RtspTestServer | undefined;
after(async () => rtsp?.stop());

test('an RTSP stream is read until --max-frames, every --vid-stride-th frame, and the person walking in it is found', { timeout: 120_000 }, async () => {
  rtsp = await startRtspServer();
  const cwd = mkdtempSync(join(dir, 'rtsp-'));
  const r = await runKestrel(['detect', rtsp.url, '--rtsp-transport', 'udp', '--vid-stride', '2', '--max-frames', '3', '--json'], { cwd });
  assert.equal(r.code, 0, r.stderr);
  const doc = JSON.parse(r.stdout) as Summary;
  const stream = doc.videos[0];
  assert.equal(stream.kind, 'stream');
  assert.equal(stream.stoppedBy, 'max-frames');
  assert.deepEqual([stream.width, stream.height], [640, 360]);
  // A live stream drops what the model cannot keep up with (the oldest frame goes), so on a busy
  // machine the frames taken are every 2nd of those read, not always 0, 2, 4.
  const taken = stream.frames.map((f) => f.frame);
  assert.equal(taken.length, 3, JSON.stringify(taken));
  assert.equal(taken[0], 0);
  assert.ok(taken.every((n, i) => n % 2 === 0 && (i === 0 || n > taken[i - 1])), `every --vid-stride-th frame, in order: ${JSON.stringify(taken)}`);
  assert.ok(stream.frames.some((f) => f.detections.some((d) => d.label === 'person')), JSON.stringify(stream.frames.map((f) => f.detections)));
  assert.ok(existsSync(join(cwd, 'runs', 'detect', 'predict', `cam_${taken[2]}.jpg`)));

  const timed = await runKestrel(['detect', rtsp.url, '--rtsp-transport', 'udp', '--duration', '1.5', '--no-save', '--json'], { cwd });
  assert.equal(timed.code, 0, timed.stderr);
  const t = (JSON.parse(timed.stdout) as Summary).videos[0];
  assert.equal(t.stoppedBy, 'duration');
  assert.ok(t.framesRead >= 3, `${t.framesRead} frames in 1.5 s of a 15 fps stream`);

  // No limit: it reads until Ctrl-C, then writes what it has and exits 0.
  const child = spawn(process.execPath, kestrelArgs(['detect', rtsp.url, '--rtsp-transport', 'udp', '--name', 'live']), { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stderr.on('data', (d: Buffer) => (err += d));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no frame line within 60 s; stderr: ${err}`)), 60_000);
    child.stdout.on('data', (d: Buffer) => {
      out += d;
      if (/ frame \d+ \(640x360/.test(out)) {
        clearTimeout(timer);
        resolve();
      }
    });
  });
  assert.match(err, /reading rtsp:\/\/.* until Ctrl-C/);
  child.kill('SIGINT');
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  assert.equal(code, 0, err);
  const live = JSON.parse(readFileSync(join(cwd, 'runs', 'detect', 'live', 'predictions.json'), 'utf8')) as Summary;
  assert.equal(live.videos[0].stoppedBy, 'interrupt');
  assert.ok(live.videos[0].frames.length >= 1);
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildFfmpegArgs, parseFfmpegVersion } from '@kestrel/agent/source/ffmpeg-args';
import { fpsCapFilter, frameFilter } from '@kestrel/agent/source/ffmpeg-filter';
import { FfmpegStderr, parseLogLine, type ScaleInfo } from '@kestrel/agent/source/stream-info';
import { inputFor } from '@kestrel/agent/source/create';

const FFMPEG_5 = { major: 5, minor: 1 };
const FFMPEG_4 = { major: 4, minor: 4 };

test('the filter caps fps, scales by the letterbox formula, converts to RGB and pads with the pad value', () => {
  const f = frameFilter({ width: 416, height: 320, fps: 5, padValue: 0 });
  const steps = f.split(/,(?=[a-z@]+=)/);
  assert.match(steps[0], /^select=/);
  assert.match(steps[1], /^scale@kestrel=w='min\(416,max\(2,round\(iw\*min\(416\/iw,320\/ih\)\/2\)\*2\)\)':h='min\(320,/);
  assert.equal(steps[2], 'format=rgb24');
  assert.equal(steps[3], "pad@kestrel=w=416:h=320:x='floor((ow-iw)/4)*2':y='floor((oh-ih)/4)*2':color=0x000000");
  assert.match(frameFilter({ width: 64, height: 64 }), /color=0x727272$/, 'default pad value is 114');
  assert.doesNotMatch(frameFilter({ width: 64, height: 64 }), /select=/, 'no cap unless asked');
  assert.equal(frameFilter({ width: 64, height: 48, keepAspect: false }), 'scale@kestrel=w=64:h=48:flags=bicubic,format=rgb24');
});

test('the fps cap keeps one frame per time slot and lets a clock reset through', () => {
  assert.equal(fpsCapFilter(10), "select='gt(isnan(prev_selected_t)+lt(t,prev_selected_t)+gt(floor(t*10+0.5),floor(prev_selected_t*10+0.5)),0)'");
});

test('rtsp command: transport, the version-specific socket timeout, video only, the URL last before the output', () => {
  const input = inputFor({ type: 'rtsp', url: 'rtsp://user:secret@cam.local:554/stream1', transport: 'udp' });
  const args = buildFfmpegArgs(input, { width: 416, height: 416, fps: 10 }, FFMPEG_5);
  const at = (flag: string) => args[args.indexOf(flag) + 1];
  assert.equal(at('-rtsp_transport'), 'udp');
  assert.equal(at('-timeout'), '10000000');
  assert.equal(at('-allowed_media_types'), 'video');
  assert.equal(at('-i'), 'rtsp://user:secret@cam.local:554/stream1');
  assert.equal(at('-map'), '0:v:0');
  assert.equal(at('-fps_mode'), 'passthrough');
  assert.deepEqual(args.slice(-5), ['-pix_fmt', 'rgb24', '-f', 'rawvideo', 'pipe:1']);
  assert.equal(input.description, 'rtsp://***@cam.local:554/stream1', 'descriptions for logs carry no credentials');
  assert.deepEqual(inputFor({ type: 'rtsp', url: 'rtsp://h/x' }).args(FFMPEG_5).slice(0, 2), ['-rtsp_transport', 'tcp'], 'TCP by default');

  const old = buildFfmpegArgs(input, { width: 416, height: 416 }, FFMPEG_4);
  assert.ok(old.includes('-stimeout') && !old.includes('-timeout'), 'ffmpeg 4 calls the socket timeout -stimeout');
  assert.ok(old.includes('-vsync') && !old.includes('-fps_mode'));
});

test('file, v4l2 and demo commands', () => {
  const file = inputFor({ type: 'file', path: '/v/a.mp4', loop: true }).args(FFMPEG_5);
  assert.deepEqual(file, ['-re', '-flags', 'low_delay', '-stream_loop', '-1', '-i', '/v/a.mp4'], 'played like a camera: in real time, without frame-threaded decoding bursts');
  assert.deepEqual(inputFor({ type: 'file', path: '/v/a.mp4', realtime: false }).args(FFMPEG_5), ['-i', '/v/a.mp4']);
  assert.equal(inputFor({ type: 'file', path: '/v/a.mp4' }).finite, true, 'a file played once ends');
  assert.deepEqual(inputFor({ type: 'v4l2', device: '/dev/video0', width: 1280, height: 720, inputFormat: 'mjpeg', framerate: 30 }).args(FFMPEG_5), [
    '-f', 'v4l2', '-input_format', 'mjpeg', '-video_size', '1280x720', '-framerate', '30', '-i', '/dev/video0',
  ]);
  const demo = buildFfmpegArgs(inputFor({ type: 'demo' }), { width: 416, height: 416 }, FFMPEG_5);
  const graph = demo[demo.indexOf('-filter_complex') + 1];
  assert.match(graph, /\[scene\]scale@kestrel=/);
  assert.match(graph, /\[frames\]$/);
  assert.equal(demo[demo.indexOf('-map') + 1], '[frames]');
  assert.ok(demo.some((a) => a.endsWith('agent/assets/demo/astronaut.png')), 'the demo shows the shipped photo');
});

test('the source size comes from our named scaler\'s line, not from other scalers or the stream dump', () => {
  const scales: ScaleInfo[] = [];
  const pads: Array<{ padX: number; padY: number }> = [];
  const stderr = new FfmpegStderr({ onScale: (i) => scales.push(i), onPad: (p) => pads.push(p) });
  const text = [
    "[info] Input #0, rtsp, from 'rtsp://cam/x':",
    '[info]   Stream #0:0: Video: h264, none, 90k tbr, 90k tbn', // size unknown after a short probe
    '[Parsed_scale_0 @ 0x55d0c1a2b3c0] [verbose] w:512 h:512 fmt:rgb24 sar:1/1 -> w:360 h:360 fmt:yuv420p sar:1/1 flags:0x4', // the demo's photo
    "[scale@kestrel @ 0x55864d1da100] [verbose] w:min(416,max(2,round(iw*min(416/iw,416/ih)/2)*2)) h:min(416,max(2)) flags:'bicubic' interl:0",
    '[scale@kestrel @ 0x55864d1da100] [verbose] w:1920 h:1080 fmt:yuv420p sar:1/1 -> w:416 h:234 fmt:rgb24 sar:1/1 flags:0x4',
    '[pad@kestrel @ 0x55864d1dda00] [verbose] w:416 h:234 -> w:416 h:416 x:0 y:90 color:0x727272FF',
    // the camera switches to 720p mid-stream: the graph is configured again
    '[scale@kestrel @ 0x55864d1e0000] [verbose] w:1280 h:720 fmt:yuv420p sar:1/1 -> w:416 h:234 fmt:rgb24 sar:1/1 flags:0x4',
    '',
  ].join('\n');
  for (let i = 0; i < text.length; i += 17) stderr.push(text.slice(i, i + 17)); // awkward pieces, split mid-line
  assert.deepEqual(scales, [
    { srcWidth: 1920, srcHeight: 1080, scaledWidth: 416, scaledHeight: 234 },
    { srcWidth: 1280, srcHeight: 720, scaledWidth: 416, scaledHeight: 234 },
  ]);
  assert.deepEqual(pads, [{ padX: 0, padY: 90 }]);
});

test('log lines: context, level and message', () => {
  assert.deepEqual(parseLogLine('[tcp @ 0x564278ff65c0] [error] Connection to tcp://h:1 failed: Connection refused'), {
    raw: '[tcp @ 0x564278ff65c0] [error] Connection to tcp://h:1 failed: Connection refused', context: 'tcp', level: 'error', message: 'Connection to tcp://h:1 failed: Connection refused',
  });
  assert.equal(parseLogLine('[error] /x.mp4: No such file or directory').context, undefined);
  assert.equal(parseLogLine('plain line from an old ffmpeg').level, 'info');
});

test('the error summary is the last error (else warning), without pointers or credentials', () => {
  const stderr = new FfmpegStderr({});
  stderr.push('[tcp @ 0x55d0c1a2b3c0] [error] Connection to tcp://cam:554?timeout=0 failed: Connection refused\n');
  stderr.push('[error] rtsp://admin:hunter2@cam:554/live: Connection refused\n');
  stderr.push('[info] Exiting normally, received signal 15.\n');
  stderr.push('[verbose] No more output streams to write to, finishing.\n');
  assert.equal(stderr.errorSummary(), 'rtsp://***@cam:554/live: Connection refused');
  const warned = new FfmpegStderr({});
  warned.push('[rtsp @ 0x1] [warning] method DESCRIBE failed: 404 Not Found\n[info] done\n');
  assert.equal(warned.errorSummary(), '[rtsp] method DESCRIBE failed: 404 Not Found');
  const quiet = new FfmpegStderr({});
  quiet.push('[fatal] Conversion failed!');
  quiet.end();
  assert.equal(quiet.errorSummary(), undefined);
});

test('stderr memory stays bounded however much ffmpeg writes', () => {
  const stderr = new FfmpegStderr({}, 10, 100);
  for (let i = 0; i < 1000; i++) stderr.push(`[h264 @ 0x1] [error] error while decoding MB ${i} ${'x'.repeat(500)}\n`);
  stderr.push('y'.repeat(100_000)); // a line that never ends
  assert.equal(stderr.lines().length, 10);
  assert.ok(stderr.lines().every((l) => l.length <= 100));
});

test('ffmpeg versions: Debian, Ubuntu, git builds', () => {
  assert.deepEqual(parseFfmpegVersion('ffmpeg version 5.1.9-0+deb12u1 Copyright (c) 2000-2026'), { major: 5, minor: 1 });
  assert.deepEqual(parseFfmpegVersion('ffmpeg version 4.4.2-0ubuntu0.22.04.1 Copyright'), { major: 4, minor: 4 });
  assert.deepEqual(parseFfmpegVersion('ffmpeg version n6.1 Copyright'), { major: 6, minor: 1 });
  assert.deepEqual(parseFfmpegVersion('ffmpeg version N-112345-gabcdef Copyright'), { major: 99, minor: 0 });
});

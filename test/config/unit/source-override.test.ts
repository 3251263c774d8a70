// `kestrel agent --source`: one camera from a URL, a file, a device or `demo`, validated by the
// config schema like a written camera.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cameraFromSource, checkConfig, loadConfig } from '@kestrel/config';

const dir = mkdtempSync(join(tmpdir(), 'kestrel-source-'));
const clip = join(dir, 'Front Door.mp4');
writeFileSync(clip, 'a video, as far as the config can tell');

test('each kind of --source becomes the camera a config would write, named after it', () => {
  assert.deepEqual(cameraFromSource('rtsp://admin:secret@192.168.1.10:554/Streaming/Channels/101', dir), { name: '101', source: { type: 'rtsp', url: 'rtsp://admin:secret@192.168.1.10:554/Streaming/Channels/101' } });
  assert.deepEqual(cameraFromSource('rtsp://cam.local', dir), { name: 'cam_local', source: { type: 'rtsp', url: 'rtsp://cam.local' } });
  assert.deepEqual(cameraFromSource('/dev/video2', dir), { name: 'video2', source: { type: 'v4l2', device: '/dev/video2' } });
  assert.deepEqual(cameraFromSource('demo', dir), { name: 'demo', source: { type: 'demo' } });
  assert.deepEqual(cameraFromSource('Front Door.mp4', dir), { name: 'Front_Door', source: { type: 'file', path: clip } });
  assert.throws(() => cameraFromSource('missing.mp4', dir), /--source missing\.mp4: no such file; give an rtsp:\/\/ URL, a video file/);
});

test('--source replaces the config\'s cameras, takes the schema\'s defaults, and survives a file with cameras of its own', () => {
  const config = join(dir, 'kestrel.yaml');
  writeFileSync(config, ['device: { id: box }', 'cameras:', '  - name: yard', '    source: { type: demo }', '  - name: gate', '    source: { type: demo }'].join('\n'));
  const loaded = loadConfig(config, {}, { source: 'rtsp://10.0.0.5/live' });
  assert.deepEqual(loaded.cameras.map((c) => [c.name, c.source]), [['live', { type: 'rtsp', url: 'rtsp://10.0.0.5/live', transport: 'tcp' }]]);
  assert.equal(loaded.cameras[0].fps, 5);
  assert.equal(loaded.device.id, 'box');
  // A file source loops by default, as a camera would go on.
  const file = checkConfig({ text: '' }, {}, dir, { source: clip });
  assert.ok(file.ok);
  assert.deepEqual(file.config.cameras[0].source, { type: 'file', path: clip, loop: true, realtime: true });
});

test('a URL the schema refuses gets the schema\'s message, naming --source', () => {
  const result = checkConfig({ text: '' }, {}, dir, { source: 'http://cam.local/video' });
  assert.equal(result.ok, false);
  assert.ok(!result.ok);
  assert.equal(result.errors.length, 1);
  assert.equal(result.errors[0].path, 'cameras[0].source.url');
  assert.match(result.errors[0].message, /must be an rtsp:\/\/ or rtsps:\/\/ URL.*\(value from --source\)/);
});

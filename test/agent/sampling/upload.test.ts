// Samples from the device to a real hub process: through a hub outage within the disk budget,
// through an uploader killed mid-upload (nothing lost, nothing stored twice), and past a sample
// the hub refuses for good.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { HttpTransport, Sampler, SampleBuffer, Uploader } from '@kestrel/agent/sampling/index';
import { REPO_ROOT } from '../../support/images.js';
import { startHub, type HubProcess } from '../../deploy/support/hub-process.js';
import { photoJpeg } from '../../deploy/support/samples.js';
import { det, noiseFrame, quietLogger, samplingConfig } from './support/frames.js';
import { waitFor } from '../../support/wait.js';

let hub: HubProcess;
let token: string;
before(async () => {
  hub = await startHub();
  token = await hub.token('pi-1');
});
after(() => hub?.stop());


function bufferIds(dir: string): string[] {
  const db = new Database(join(dir, 'index.sqlite'), { readonly: true });
  try {
    return db.prepare<[], { id: string }>('SELECT id FROM samples ORDER BY id').all().map((r) => r.id);
  } finally {
    db.close();
  }
}

async function hubIds(deviceId: string): Promise<string[]> {
  const ids: string[] = [];
  let after: string | undefined;
  do {
    const page = await hub.stores().records.listSamples({ deviceId }, { limit: 1000, after });
    ids.push(...page.samples.map((s) => s.id));
    after = page.next;
  } while (after);
  return ids.sort();
}

test('while the hub is down samples pile up within the disk budget (oldest dropped, counted); all of them arrive once it is back', { timeout: 90_000 }, async () => {
  const deviceToken = await hub.token('pi-outage');
  await hub.kill();
  const config = samplingConfig({
    budget: { maxBytes: 30_000 },
    quota: {},
    dedup: { enabled: false },
    strategies: { uncertainty: { quota: {} } },
    upload: { transport: 'http', url: hub.url, token: deviceToken, batchSize: 4, idleSeconds: 0.2, backoff: { minMs: 100, maxMs: 800 } },
  });
  const sampler = new Sampler({ config, deviceId: 'pi-outage', mqttPrefix: 'kestrel', logger: quietLogger });
  await sampler.start();
  try {
    let maxBytesSeen = 0;
    for (let i = 0; i < 24; i++) {
      sampler.consider(noiseFrame({ seed: i + 1 }), [det('person', 0.45)], 'v1');
      await sampler.flush();
      maxBytesSeen = Math.max(maxBytesSeen, sampler.stats().buffer!.bytes);
    }
    await waitFor('upload failures while the hub is away', 10_000, () => sampler.stats().upload.transport === 'http' && (sampler.stats().upload as { failures: number }).failures > 0);
    const during = sampler.stats();
    const jpegBytes = during.buffer!.bytes / during.buffer!.samples;
    process.stderr.write(`outage: kept ${during.kept}, buffered ${during.buffer!.samples} (${during.buffer!.bytes} bytes, ~${Math.round(jpegBytes)} per JPEG), dropped oldest ${during.buffer!.evicted.budget}, upload failures ${(during.upload as { failures: number }).failures}\n`);
    assert.equal(during.kept, 24);
    assert.ok(maxBytesSeen <= 30_000, `buffer held ${maxBytesSeen} bytes, budget 30000`);
    assert.ok(during.buffer!.evicted.budget > 0, 'the budget was reached and the oldest dropped');
    assert.equal(during.buffer!.samples + during.buffer!.evicted.budget, 24, 'every kept sample is buffered or counted as dropped');
    assert.equal(during.backlog, during.buffer!.samples);
    const waiting = bufferIds(config.path);

    await hub.start();
    await waitFor('the backlog to drain', 30_000, () => sampler.stats().backlog === 0);
    assert.deepEqual(await hubIds('pi-outage'), waiting, 'exactly the buffered samples arrived');
    const done = sampler.stats();
    assert.equal((done.upload as { sent: number }).sent, waiting.length);
    assert.deepEqual(readdirSync(join(config.path, 'images')), [], 'confirmed samples left the device');
  } finally {
    await sampler.stop();
  }
});

function runWorker(dir: string, crashAfter?: number): { done: Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string }>; kill: () => void; firstBatch: Promise<void> } {
  const child = spawn(process.execPath, ['--conditions=kestrel-source', '--import', 'tsx', join(REPO_ROOT, 'test/agent/sampling/support/upload-worker.ts'), dir, hub.url, token, ...(crashAfter ? [String(crashAfter)] : [])], {
    cwd: REPO_ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  let batchAnswered!: () => void;
  const firstBatch = new Promise<void>((resolve) => (batchAnswered = resolve));
  child.stdout.on('data', (d: Buffer) => {
    stdout += d;
    if (stdout.includes('"batch"')) batchAnswered();
  });
  child.stderr.on('data', (d: Buffer) => (stderr += d));
  const done = new Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string }>((resolve) =>
    child.on('exit', (code, signal) => {
      if (code !== 0 && signal !== 'SIGKILL') process.stderr.write(`upload worker exited ${code ?? signal}: ${stderr}\n`);
      resolve({ code, signal, stdout });
    }),
  );
  return { done, kill: () => child.kill('SIGKILL'), firstBatch };
}

test('an uploader killed mid-upload loses no sample and the hub stores none twice', { timeout: 90_000 }, async () => {
  await hub.start();
  const dir = mkdtempSync(join(tmpdir(), 'kestrel-upload-kill-'));
  const image = await photoJpeg('coffee', 256);
  const buffer = new SampleBuffer({ dir, maxBytes: 1e9, maxAgeMs: 1e12 }, quietLogger);
  buffer.open();
  const t0 = Date.now();
  const ids: string[] = [];
  for (let i = 0; i < 30; i++) {
    const id = `door-${t0 + i}-kill${i}`;
    ids.push(id);
    await buffer.add(
      { id, camera: 'door', capturedAt: t0 + i, modelVersion: 'v1', reasons: ['uncertainty'], detections: [{ label: 'cup', score: 0.4, box: [10, 10, 100, 100] }], frameSize: [image.width, image.height], imageSize: [image.width, image.height], hash: '0000000000000000' },
      image.jpeg,
    );
  }
  buffer.close();
  try {
    // 1. Dies right after the hub confirmed its second batch, before removing it from the buffer.
    const first = await runWorker(dir, 2).done;
    assert.equal(first.signal, 'SIGKILL');
    const afterCrash = await hubIds('pi-1');
    assert.equal(afterCrash.length, 8, 'two batches of 4 reached the hub');
    assert.equal(bufferIds(dir).length, 26, 'the first batch left the buffer, the confirmed-but-unrecorded second did not');

    // 2. Killed from outside while uploading: as soon as its first batch is answered, with five
    // batches still to go. (Waiting for the hub to count more samples let a fast worker finish
    // all of them between two polls, and then it was never killed.)
    const second = runWorker(dir);
    await Promise.race([second.firstBatch, second.done]);
    second.kill();
    const secondRun = await second.done;
    assert.equal(secondRun.signal, 'SIGKILL');

    // 3. Runs to the end.
    const third = await runWorker(dir).done;
    assert.equal(third.code, 0);
    // The four confirmed-but-unrecorded samples of step 1 are sent again by whichever run got to
    // them: the second before it was killed, or the third.
    const lines = `${secondRun.stdout}${third.stdout}`.trim().split('\n').map((l) => JSON.parse(l) as { batch?: number; duplicates: number });
    const duplicates = lines.filter((l) => l.batch !== undefined).reduce((n, l) => n + l.duplicates, 0);
    assert.ok(duplicates >= 4, `the resend was recognised as duplicates (${duplicates})`);
    assert.deepEqual(await hubIds('pi-1'), [...ids].sort(), 'every sample arrived');
    assert.equal(await hub.stores().records.countSamples({ deviceId: 'pi-1' }), 30, 'each stored once');
    assert.equal(readdirSync(join(hub.dir, 'data', 'blobs', 'samples', 'pi-1')).length, 30, 'one image file each');
    assert.deepEqual(bufferIds(dir), []);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a sample the hub refuses for good is marked rejected and does not hold back the others', { timeout: 60_000 }, async () => {
  await hub.start();
  const dir = mkdtempSync(join(tmpdir(), 'kestrel-upload-reject-'));
  const deviceToken = await hub.token('pi-reject');
  const image = await photoJpeg('motorcycle', 256);
  const buffer = new SampleBuffer({ dir, maxBytes: 1e9, maxAgeMs: 1e12 }, quietLogger);
  buffer.open();
  const t0 = Date.now();
  for (let i = 0; i < 5; i++) {
    await buffer.add(
      { id: `yard-${t0 + i}-r${i}`, camera: 'yard', capturedAt: t0 + i, modelVersion: 'v1', reasons: ['random'], detections: [], frameSize: [image.width, image.height], imageSize: [image.width, image.height], hash: '0000000000000000' },
      image.jpeg,
    );
  }
  // The third JPEG is damaged on disk (a bad sector, a bug): the hub must refuse it.
  writeFileSync(join(dir, 'images', `yard-${t0 + 2}-r2.jpg`), image.jpeg.subarray(0, 300));
  const transport = new HttpTransport({ url: hub.url, token: deviceToken, deviceId: 'pi-reject', timeoutMs: 10_000 });
  const uploader = new Uploader(buffer, transport, { batchSize: 5, backoff: { minMs: 50, maxMs: 200 }, idleMs: 50 }, quietLogger);
  uploader.start();
  try {
    await waitFor('the good samples to arrive', 20_000, () => (buffer.stats().pending === 0 ? true : undefined));
    assert.equal((await hubIds('pi-reject')).length, 4);
    const stats = uploader.stats();
    assert.equal(stats.sent, 4);
    assert.equal(stats.rejected, 1);
    assert.equal(buffer.stats().rejected, 1, 'the refused sample stays, marked rejected');
    assert.match(buffer.get(`yard-${t0 + 2}-r2`)!.lastError ?? '', /not a readable JPEG/);
  } finally {
    await uploader.stop();
    buffer.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

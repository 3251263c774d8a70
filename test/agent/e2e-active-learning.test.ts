// Active learning end to end with real parts: the agent (its own process) on the demo camera with
// the bundled NanoDet, a real Mosquitto, and a real hub process. Uncertain frames are kept under
// their quota, uploaded, and come out of `kestrel hub export --format yolo` with pre-labels equal
// to the detections the agent published for those very frames.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { parse as parseYaml } from 'yaml';
import { parsePayload, type FrameDetections, type Stats } from '@kestrel/core';
import { startBroker, type BrokerHandle } from '../support/broker.js';
import { freePort, uniquePrefix } from '../support/ports.js';
import { REPO_ROOT } from '../support/images.js';
import { runKestrel } from '../support/cli.js';
import { startHub, type HubProcess } from '../deploy/support/hub-process.js';
import { httpGet, metric, waitFor } from './support/agent-process.js';

const dir = mkdtempSync(join(tmpdir(), 'kestrel-al-'));
let broker: BrokerHandle | undefined;
let hub: HubProcess | undefined;
let agent: ChildProcess | undefined;
after(async () => {
  agent?.kill('SIGKILL');
  await hub?.stop();
  await broker?.stop();
  rmSync(dir, { recursive: true, force: true });
});


test('uncertain demo frames are kept under the quota, reach the hub, and export with the detections the agent published', { timeout: 180_000 }, async () => {
  [broker, hub] = await Promise.all([startBroker(), startHub()]);
  const token = await hub.token('al-1');
  const prefix = uniquePrefix('al');
  const quotaPerMinute = 3;
  const configPath = join(dir, 'kestrel.yaml');
  const httpPort = await freePort();
  writeFileSync(
    configPath,
    [
      'device: { id: al-1 }',
      `mqtt: { url: "${broker.url}", prefix: ${prefix}, publishDetections: true, statsIntervalSeconds: 2 }`,
      `stateDir: "${join(dir, 'state')}"`,
      `http: { enabled: true, bind: "127.0.0.1:${httpPort}" }`,
      'model: { threads: 1 }',
      'cameras:',
      '  - name: demo',
      '    source: { type: demo }',
      '    fps: 2',
      'sampling:',
      '  enabled: true',
      '  dedup: { enabled: false }',
      '  strategies:',
      `    uncertainty: { enabled: true, low: 0.3, high: 0.99, quota: { perMinute: ${quotaPerMinute} } }`,
      `  upload: { transport: http, url: "${hub.url}", token: "${token}", batchSize: 2, backoff: { minMs: 200, maxMs: 2000 } }`,
    ].join('\n'),
  );

  const published = new Map<number, FrameDetections>();
  const client = await mqtt.connectAsync(broker.url, { clientId: `${prefix}-watch` });
  let lastStats: Stats | undefined;
  client.on('message', (topic, payload) => {
    if (topic.endsWith('/stats')) return void (lastStats = parsePayload('stats', payload));
    const d = parsePayload('detections', payload);
    published.set(d.frameTime, d);
  });
  await client.subscribeAsync([`${prefix}/al-1/demo/detections`, `${prefix}/al-1/stats`], { qos: 0 });

  const startedAt = Date.now();
  agent = spawn(process.execPath, ['--conditions=kestrel-source', '--import', 'tsx', join(REPO_ROOT, 'cli/src/entry.ts'), 'agent', '--config', configPath], {
    cwd: REPO_ROOT,
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, KESTREL_LOG_LEVEL: 'warn' },
  });
  let log = '';
  agent.stderr!.on('data', (d: Buffer) => (log = (log + d).slice(-10_000)));

  // Samples reach the hub (the uploader confirms each by id).
  const listed = await waitFor('samples on the hub', 120_000, async () => {
    const r = await runKestrel(['hub', 'samples', '--config', hub!.configPath, '--json']);
    if (r.code !== 0) return undefined;
    const doc = JSON.parse(r.stdout) as { samples: { id: string; capturedAt: number; reasons: string[] }[] };
    // Wait until a kept frame also carries a confident detection, so pre-labels get compared.
    const labelled = doc.samples.some((x) => (published.get(x.capturedAt)?.detections.length ?? 0) > 0);
    return doc.samples.length >= 2 && labelled ? doc.samples : undefined;
  }).catch((err: Error) => {
    throw new Error(`${err.message}; agent log:\n${log}`);
  });
  // Stats go out every 2 s: wait for one sent after the sampler had frames to look at.
  await waitFor('stats with sampler figures', 15_000, () => ((lastStats?.samples?.considered ?? 0) > 0 ? true : undefined));
  // The agent's own account in /metrics (asserted below, once the agent and the watcher are gone).
  const metrics = (await httpGet(httpPort, '/metrics')).body;
  agent.kill('SIGTERM');
  await new Promise((r) => agent!.once('exit', r));
  await client.endAsync();
  const value = (name: string, labels: Record<string, string> = {}) => metric(metrics, name, labels) ?? NaN;
  const kept = value('kestrel_samples_kept_total');
  assert.ok(value('kestrel_samples_uploaded_total', { result: 'stored' }) >= listed.length, `uploads confirmed in /metrics:\n${metrics}`);
  // Every processed frame is considered; when the first frames are all uncertain, all are kept.
  assert.ok(kept >= listed.length && value('kestrel_samples_considered_total') >= kept, `kept ${kept} of ${value('kestrel_samples_considered_total')}`);
  assert.equal(value('kestrel_samples_dropped_total', { reason: 'duplicate' }), 0, 'de-duplication is off here');
  assert.ok(value('kestrel_samples_backlog') >= 0);
  // ...and in the stats it publishes, for fleet dashboards that only see MQTT.
  assert.ok(lastStats?.samples && lastStats.samples.considered > 0 && lastStats.samples.kept <= kept, `stats: ${JSON.stringify(lastStats?.samples)}`);
  // The uploader may deliver a last batch while the agent stops: take the hub's final list.
  const final = await runKestrel(['hub', 'samples', '--config', hub.configPath, '--json']);
  const all = (JSON.parse(final.stdout) as { samples: typeof listed }).samples;
  assert.ok(all.length >= listed.length);
  const elapsedMinutes = (Date.now() - startedAt) / 60_000;
  // The quota is a token bucket of `perMinute` per minute: never more kept than it allows.
  assert.ok(all.length <= quotaPerMinute * Math.ceil(elapsedMinutes + 1), `${all.length} samples in ${elapsedMinutes.toFixed(1)} min exceeds the quota`);
  for (const s of all) assert.ok(s.reasons.includes('uncertainty'), `sample ${s.id} kept for ${s.reasons}`);

  const out = join(dir, 'export');
  const exp = await runKestrel(['hub', 'export', '--config', hub.configPath, '--format', 'yolo', '-o', out, '--min-score', '0.36']);
  assert.equal(exp.code, 0, exp.stderr);
  const names = (parseYaml(readFileSync(join(out, 'data.yaml'), 'utf8')) as { names: Record<string, string> }).names;
  const images = readdirSync(join(out, 'images'));
  assert.equal(images.length, all.length);
  let compared = 0;
  for (const image of images) {
    const sample = all.find((s) => image.includes(s.id))!;
    assert.ok(sample, `exported ${image} matches a listed sample`);
    const frame = published.get(sample.capturedAt);
    assert.ok(frame, `the agent published detections for the sampled frame ${sample.capturedAt}`);
    const [fw, fh] = frame.frameSize;
    const want = frame.detections.map((d) => ({ label: d.label, score: d.score, cx: (d.box[0] + d.box[2]) / 2 / fw, cy: (d.box[1] + d.box[3]) / 2 / fh, w: (d.box[2] - d.box[0]) / fw, h: (d.box[3] - d.box[1]) / fh }));
    const labels = readFileSync(join(out, 'labels', image.replace(/\.jpg$/, '.txt')), 'utf8').trim().split('\n').filter(Boolean);
    // Published detections are those ≥ 0.35 (rounded to 3 decimals); the export keeps ≥ 0.36: every
    // pre-label must be a published detection, and every clearly-above-threshold one must be there.
    const sure = want.filter((d) => d.score >= 0.37).length;
    assert.ok(labels.length >= sure && labels.length <= want.length, `${image}: ${labels.length} pre-labels vs ${want.length} published (${sure} ≥ 0.37)`);
    for (const line of labels) {
      const [cls, cx, cy, w, h] = line.split(' ').map(Number);
      const match = want.find((d) => d.label === names[cls] && Math.abs(d.cx - cx) < 0.01 && Math.abs(d.cy - cy) < 0.01 && Math.abs(d.w - w) < 0.01 && Math.abs(d.h - h) < 0.01);
      assert.ok(match, `${image}: pre-label "${line}" (${names[cls]}) matches a published detection`);
      compared++;
    }
  }
  assert.ok(compared > 0, 'at least one pre-label was compared');
});

// Drift on the device, measured: (1) what the histograms and the comparison cost per frame, in
// this process; (2) a real agent on the demo camera (ffmpeg, NanoDet, an embedded or local broker)
// that learns its baseline over the first --learn minutes and then compares every --interval
// seconds: the PSI / JS figures of a scene that did not change (false-alarm headroom), and the
// size of each drift message on MQTT.
//
//   node --conditions=kestrel-source --import tsx bench/drift.ts [--learn 0.5] [--interval 10] [--min-count 50] [--seconds 120]
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { performance } from 'node:perf_hooks';
import mqtt from 'mqtt';
import { checkConfig } from '@kestrel/config';
import { addFrame, compareHistograms, createLogger, emptyHistograms, makeBaseline, parsePayload, type DriftAlert } from '@kestrel/core';
import { Agent } from '@kestrel/agent';
import { startBroker } from '../test/support/broker.js';
import { uniquePrefix } from '../test/support/ports.js';

const { values } = parseArgs({ options: { learn: { type: 'string', default: '0.5' }, interval: { type: 'string', default: '10' }, 'min-count': { type: 'string', default: '50' }, seconds: { type: 'string', default: '120' } } });
const log = (line: string) => process.stdout.write(`${line}\n`);

// (1) Cost: 5 detections a frame over 3 classes, 100k frames; a comparison with a 3-class baseline.
{
  const labels = ['person', 'car', 'bag'];
  const frames = Array.from({ length: 1000 }, (_, f) => Array.from({ length: 5 }, (_, i) => ({ label: labels[(f + i) % 3], score: 0.35 + ((f * 7 + i * 13) % 65) / 100, box: [0, 0, 10 + ((f + i) % 300), 20 + ((f * i) % 200)] as [number, number, number, number] })));
  const h = emptyHistograms(0.35);
  for (let w = 0; w < 2000; w++) addFrame(h, frames[w % 1000], 1280 * 720);
  const t0 = performance.now();
  for (let n = 0; n < 100_000; n++) addFrame(h, frames[n % 1000], 1280 * 720);
  const perFrameUs = ((performance.now() - t0) * 1000) / 100_000;
  const baseline = makeBaseline(h, 'bench', 0);
  const t1 = performance.now();
  for (let n = 0; n < 10_000; n++) compareHistograms(baseline, h, 200);
  const perCompareUs = ((performance.now() - t1) * 1000) / 10_000;
  log(`histograms: ${perFrameUs.toFixed(2)} µs a frame (5 detections); a comparison (3 classes, 7 figures): ${perCompareUs.toFixed(1)} µs`);
}

// (2) The demo camera against the baseline it learned.
const dir = mkdtempSync(join(tmpdir(), 'kestrel-bench-drift-'));
const broker = await startBroker();
const prefix = uniquePrefix('bench-drift');
const r = checkConfig({
  text: [
    'device: { id: bench-drift }',
    `mqtt: { url: "${broker.url}", prefix: ${prefix} }`,
    `stateDir: "${join(dir, 'state')}"`,
    'http: { enabled: false }',
    'model: { threads: 1 }',
    `drift: { intervalS: ${values.interval}, minCount: ${values['min-count']}, learnMinutes: ${values.learn} }`,
    'cameras:',
    '  - name: demo',
    '    source: { type: demo }',
    '    fps: 5',
  ].join('\n'),
});
if (!r.ok) throw new Error(JSON.stringify(r.errors));
const agent = new Agent(r.config, { logger: createLogger('bench-drift', { level: 'error' }), brokerConfigured: true, env: {} });
const client = await mqtt.connectAsync(broker.url, { clientId: `${prefix}-sub` });
const alerts: { alert: DriftAlert; bytes: number }[] = [];
const topic = `${prefix}/bench-drift/demo/drift`;
client.on('message', (_t, payload) => {
  if (payload.length === 0) return;
  const alert = parsePayload('drift', payload);
  alerts.push({ alert, bytes: payload.length });
  log(`comparison ${alerts.length}: PSI ${alert.psi.toFixed(3)} JS ${alert.js.toFixed(3)} drifted ${alert.drifted} worst ${alert.worst?.histogram}${alert.worst?.label ? `/${alert.worst.label}` : ''} (n ${alert.worst?.n}), ${alert.figures.length} figures, ${payload.length} bytes`);
});
await client.subscribeAsync(topic, { qos: 1 });
await agent.start();
await new Promise((resolve) => setTimeout(resolve, Number(values.seconds) * 1000));
await agent.stop();
await client.publishAsync(topic, '', { retain: true, qos: 1 });
await client.endAsync();
await broker.stop();
rmSync(dir, { recursive: true, force: true });
if (alerts.length === 0) log('no comparison made (learning not finished, or too few detections)');
else {
  const psis = alerts.map((a) => a.alert.psi);
  log(`demo vs its learned baseline: ${alerts.length} comparisons, PSI ${Math.min(...psis).toFixed(3)}–${Math.max(...psis).toFixed(3)}, alerts ${alerts.filter((a) => a.alert.drifted).length}; messages ${Math.min(...alerts.map((a) => a.bytes))}–${Math.max(...alerts.map((a) => a.bytes))} bytes`);
}

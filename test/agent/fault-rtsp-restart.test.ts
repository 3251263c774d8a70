// Fault: the camera (a real RTSP server, rtsp-server-perl fed by ffmpeg) dies and comes back on
// the same ports. The agent runs as its own process; what an operator would look at tells the
// story: /healthz turns 503 with the reason, /metrics counts the source restarts, the retained
// state says stalled/failed with the last error, and frames flow again within seconds.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startRtspServer, type RtspTestServer } from '../support/rtsp.js';
import { startBroker, type BrokerHandle } from '../support/broker.js';
import { freePort, uniquePrefix } from '../support/ports.js';
import { Recorder, httpGet, cleanUp, metric, startAgentProcess, stopAgent, waitFor } from './support/agent-process.js';

const dir = mkdtempSync(join(tmpdir(), 'kestrel-fault-rtsp-'));
let rtsp: RtspTestServer | undefined;
let broker: BrokerHandle | undefined;
after(async () => {
  await cleanUp();
  await rtsp?.stop();
  await broker?.stop();
  rmSync(dir, { recursive: true, force: true });
});

interface Health {
  status: string;
  reasons: string[];
  cameras: Record<string, { state: string; lastError?: string; restarts?: number }>;
}

test('a camera whose RTSP server died streams again within 5 s of the server coming back; health, metrics and state tell the story', { timeout: 90_000 }, async () => {
  [rtsp, broker] = await Promise.all([startRtspServer(), startBroker()]);
  const prefix = uniquePrefix('rtspfault');
  const deviceId = 'rtsp-fault-1';
  const httpPort = await freePort();
  const configPath = join(dir, 'agent.yaml');
  writeFileSync(
    configPath,
    [
      `device: { id: ${deviceId} }`,
      `mqtt: { url: "${broker.url}", prefix: ${prefix} }`,
      `stateDir: "${join(dir, 'state')}"`,
      `http: { enabled: true, bind: "127.0.0.1:${httpPort}" }`,
      'model: { threads: 1 }',
      'cameras:',
      '  - name: door',
      `    source: { type: rtsp, url: "${rtsp.url}", transport: udp }`,
      '    fps: 2',
      // Retries at most 2 s apart while the camera is away (the source's own default; the config
      // default of 4 s alone can use up most of the 5-s target before the RTSP handshake starts).
      '    watchdog: { stallSeconds: 3, backoff: { minMs: 250, maxMs: 2000 } }',
    ].join('\n'),
  );
  const rec = new Recorder(broker.url, prefix);
  await rec.connect();
  const agent = startAgentProcess(configPath);
  const health = async () => {
    const r = await httpGet(httpPort, '/healthz');
    return { code: r.status, body: JSON.parse(r.body) as Health };
  };
  const framesIn = async () => metric((await httpGet(httpPort, '/metrics')).body, 'kestrel_frames_in_total', { camera: 'door' }) ?? 0;
  await waitFor('/healthz 200', 60_000, async () => ((await health()).code === 200 ? true : undefined), 250);

  // The camera goes away.
  const killedAt = Date.now();
  await rtsp.kill();
  const down = await waitFor('/healthz 503', 15_000, async () => {
    const h = await health();
    return h.code === 503 ? { ...h, at: Date.now() } : undefined;
  });
  assert.notEqual(down.body.cameras.door.state, 'streaming');
  assert.match(down.body.reasons.join('\n'), /camera door is (stalled|failed|connecting)/);
  await new Promise((r) => setTimeout(r, 4000)); // away for a while: the source retries with backoff
  const during = await health();
  assert.equal(during.code, 503);
  assert.ok(during.body.cameras.door.lastError, `the outage has a reason: ${JSON.stringify(during.body.cameras.door)}`);
  const stateDuring = rec.lastState(deviceId);
  assert.ok(stateDuring && stateDuring.cameras.door.state !== 'streaming' && stateDuring.degraded.some((d) => d.startsWith('camera door')), `retained state tells: ${JSON.stringify(stateDuring)}`);

  // It comes back on the same ports: time to the first new frame, seen through /metrics.
  const before = await framesIn();
  const { startedAt, readyAt } = await rtsp.restart();
  const firstFrameAt = await waitFor('a new frame counted in /metrics', 30_000, async () => ((await framesIn()) > before ? Date.now() : undefined), 100);
  const streamingState = await waitFor('the retained state to say streaming', 15_000, () => {
    const m = [...rec.messages].reverse().find((x) => x.topic === `${prefix}/${deviceId}/state` && x.at >= readyAt);
    const s = m && (JSON.parse(m.payload) as { cameras: Record<string, { state: string }> });
    return s?.cameras.door.state === 'streaming' ? m!.at : undefined;
  });
  const healthy = await waitFor('/healthz 200 again', 15_000, async () => ((await health()).code === 200 ? Date.now() : undefined), 100);
  const metrics = (await httpGet(httpPort, '/metrics')).body;
  const restarts = metric(metrics, 'kestrel_source_restarts_total', { camera: 'door' }) ?? 0;
  assert.ok(restarts >= 1, `source restarts counted: ${restarts}`);
  assert.equal(metric(metrics, 'kestrel_camera_up', { camera: 'door' }), 1);

  const recoveryMs = firstFrameAt - readyAt;
  console.log(
    `rtsp outage: 503 ${down.at - killedAt} ms after the kill; server+publisher took ${readyAt - startedAt} ms to come back; ` +
      `first new frame ${recoveryMs} ms after the stream was served again (${firstFrameAt - startedAt} ms after the server was started); ` +
      `state streaming after ${streamingState - readyAt} ms, /healthz 200 after ${healthy - readyAt} ms; ${restarts} source restarts`,
  );
  assert.ok(recoveryMs <= 5000, `frames flowed ${recoveryMs} ms after the server came back (target ≤ 5000)`);

  const stopped = await stopAgent(agent);
  assert.equal(stopped.code, 0);
});

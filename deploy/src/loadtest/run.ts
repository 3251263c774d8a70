import { createPrivateKey, randomBytes } from 'node:crypto';
import { loadavg, cpus, tmpdir } from 'node:os';
import { mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { generateReleaseKeyPair, KestrelError, redactUrl, TrustedKeys, type Logger } from '@kestrel/core';
import { closeStores, openStores, type HubStores } from '../store/open.js';
import { issueToken } from '../hub/tokens.js';
import { ReleaseService, type ReleaseRecord } from '../release/release-service.js';
import { signRolloutRequest } from '../rollout/signed-request.js';
import type { publicRollout } from '../rollout/driver.js';
import { startBalancer, type Balancer } from './balancer.js';
import { countDevices, countSamples, type DeviceCount, type SampleCount } from './count.js';
import { Ledger, percentile } from './ledger.js';
import { freePort, startPrivateBroker, type PrivateBroker } from './mosquitto.js';
import { RATES, RESTART_AFTER_MS, type LoadtestOptions } from './options.js';
import { cpuSecondsOf, processUsage, Replica, type ReplicaUsage } from './replicas.js';
import { SimDevice, type SimModel } from './sim-device.js';
import { runStores, type RunStores } from './stores.js';
import { fixedDetector } from './tiny-model.js';
import { settle, withDeadline } from './settle.js';
import { forgetOnBroker, sampleJpeg, stopDevices } from './sim-fleet.js';

type PublicRollout = ReturnType<typeof publicRollout>;

export interface Percentiles {
  p50Ms: number;
  p99Ms: number;
  count: number;
}

export interface LoadtestReport {
  devices: number;
  replicas: number;
  /** Fleet sessions per replica. */
  sessions: number;
  seconds: number;
  /** Samples confirmed to a device but not stored (or stored without their JPEG), plus devices whose row does not show what they last said. */
  lost: number;
  /** Sample rows stored more than once for one (device, id). */
  duplicated: number;
  /** Sample upload → stored: HTTP round trips, and MQTT publish → the hub's receivedAt. */
  ingest: Percentiles & { http: Percentiles; mqtt: Percentiles };
  cpu: ReplicaUsage[];
  rollout: {
    finished: boolean;
    status: string;
    reason?: string;
    durationS: number;
    /** Kill of the lease holder → another holder named on the rollout. */
    takeoverS?: number;
    killed?: string;
    waves: number;
    /** Devices whose simulated updater applied the release and reported health passed. */
    updated: number;
  };
  exactlyOnce: {
    samples: Omit<SampleCount, 'mqttIngestMs'>;
    devices: Omit<DeviceCount, 'stale'> & { stale: number; staleIds: string[]; staleBeforeRepublish: number };
    /** Redeliveries the hub took as duplicates (idempotent, nothing written twice): HTTP retries answered `duplicate`, MQTT samples seen again. */
    redelivered: { http: number; mqtt: number };
  };
  traffic: {
    rates: typeof RATES;
    events: { sent: number; acked: number };
    stats: number;
    states: number;
    samples: { http: number; mqtt: number };
    httpRetries: number;
    queueDrops: number;
    downloadRetries: number;
    /** HTTP connections the load balancer handed each replica. */
    balancer: number[];
  };
  host: {
    cpus: number;
    loadavgStart: number[];
    loadavgEnd: number[];
    /** This process (the simulated devices and the balancer), 100 = one core. */
    simulatorCpuPercent: number;
    brokerCpuPercent?: number;
    /** Every `postgres` process on this machine (a local --records server; other users' queries included). */
    postgresCpuPercent?: number;
  };
  records: string;
  broker: string;
  /** The measured time: from the first device's traffic to the rollout finished and `seconds` passed (CPU figures are over this). */
  trafficS: number;
  /** After the traffic: until every confirmed sample was stored or the replicas went idle (a backlog shows here). */
  drainS: number;
  wallS: number;
}

const round = (x: number, digits = 1) => Math.round(x * 10 ** digits) / 10 ** digits;
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
const pct = (values: number[]): Percentiles => ({ p50Ms: round(percentile(values, 50)), p99Ms: round(percentile(values, 99)), count: values.length });

/**
 * `kestrel hub loadtest`: R hub replicas as their own processes behind a TCP balancer, on one
 * records store and one blob folder, a broker, and N simulated devices; traffic for `seconds`; a
 * signed rollout to every device started a third of the way in (optionally the replica driving it
 * is killed mid-way, and comes back RESTART_AFTER_MS later); then the store is read and compared
 * with what the devices sent. Everything listens on 127.0.0.1 and is removed afterwards.
 */
export async function runLoadtest(options: LoadtestOptions, logger: Logger): Promise<LoadtestReport> {
  const wallStart = Date.now();
  const loadavgStart = loadavg().map((x) => round(x, 2));
  const dir = mkdtempSync(join(tmpdir(), 'kestrel-loadtest-'));
  const runId = randomBytes(4).toString('hex');
  const prefix = `kestrel-loadtest-${runId}`;
  const clientId = `kestrel-loadtest-${runId}`;
  const ledger = new Ledger();
  const cleanup: (() => Promise<unknown>)[] = [];
  let run: RunStores | undefined;
  let stores: HubStores | undefined;
  const devices: SimDevice[] = [];
  const replicas: Replica[] = [];
  let broker: PrivateBroker | undefined;
  const ids = Array.from({ length: options.devices }, (_, i) => `lt-${String(i + 1).padStart(String(options.devices).length, '0')}`);
  try {
    // --- stores, tokens, broker, balancer, releases
    run = await runStores(dir, options.records);
    stores = await openStores(run.config);
    const operatorToken = (await issueToken(stores.records, 'loadtest', 'operator')).token;
    const tokens = new Map<string, string>();
    for (let i = 0; i < ids.length; i += 50) {
      const chunk = ids.slice(i, i + 50);
      const issued = await Promise.all(chunk.map((id) => issueToken(stores!.records, id, 'device')));
      issued.forEach((t) => tokens.set(t.name, t.token));
    }
    logger.info({ devices: ids.length, records: run.describe }, 'tokens issued');

    // A replica's persistent session must hold its share of the fleet's messages while it is
    // down (Mosquitto's default queue, 1000 a client, drops the rest): room for a minute of it.
    broker = options.broker ? undefined : await startPrivateBroker({ config: ['max_queued_messages 200000', 'max_inflight_messages 100'] });
    const brokerUrl = options.broker ?? broker!.url;
    cleanup.push(async () => broker?.stop());

    const ports = await Promise.all(Array.from({ length: options.replicas }, () => freePort()));
    const balancer: Balancer = await startBalancer(ports);
    cleanup.push(() => balancer.close());

    const keys = generateReleaseKeyPair();
    const releases = new ReleaseService({ blobs: stores.blobs, artifactBaseUrl: balancer.url, signingKeys: [createPrivateKey(keys.privateKeyPem)] });
    const v1 = await releases.create({ bytes: fixedDetector(8, 0.9, '1.0.0'), name: 'loadtest', version: '1.0.0' });
    const v2 = await releases.create({ bytes: fixedDetector(8, 0.8, '2.0.0'), name: 'loadtest', version: '2.0.0' });
    const trusted = new TrustedKeys([{ publicKey: keys.publicKeyPem }]);

    // --- replicas
    const names = ports.map((_, i) => `lt-${String.fromCharCode(97 + i)}`);
    for (const [i, port] of ports.entries()) {
      replicas.push(new Replica({ name: names[i], port, dir: join(dir, names[i]), stores: run.config, mqtt: { url: brokerUrl, prefix, clientId, sessions: options.sessions }, leaseSeconds: options.leaseSeconds, command: options.hubCommand, operatorToken }));
    }
    cleanup.push(() => Promise.all(replicas.map((r) => r.stop())));
    await Promise.all(replicas.map((r) => r.start()));
    logger.info({ replicas: replicas.map((r) => r.url), balancer: balancer.url, broker: redactUrl(brokerUrl) }, 'replicas serving');

    // --- devices, connected in a stagger
    const jpeg = await sampleJpeg();
    const model: SimModel = { name: v1.name, version: v1.version, sha256: v1.sha256, release: v1.release, inputSize: v1.metadata.inputSize };
    const connected: Promise<void>[] = [];
    const gapMs = 1000 / RATES.connectsPerSecond;
    for (const id of ids) {
      const d = new SimDevice({ deviceId: id, prefix, brokerUrl, hubUrl: balancer.url, token: tokens.get(id)!, trusted, model, jpeg, ledger });
      devices.push(d);
      connected.push(d.start());
      await sleep(gapMs);
    }
    cleanup.push(() => stopDevices(devices));
    await withDeadline(Promise.all(connected), 120_000, `${ids.length} devices did not all connect to ${redactUrl(brokerUrl)} within 120 s`);
    logger.info({ devices: devices.length }, 'devices connected; traffic starts');

    // --- traffic, the rollout, the kill
    const brokerPid = broker?.pid;
    const brokerAtStart = brokerPid ? processUsage(brokerPid)?.cpuSeconds : undefined;
    const selfAtStart = process.cpuUsage();
    const localPg = options.records !== undefined && ['127.0.0.1', 'localhost', '[::1]'].includes(new URL(options.records).hostname);
    const pgAtStart = localPg ? cpuSecondsOf('postgres') : undefined;
    const trafficStart = Date.now();
    for (const r of replicas) r.beginMeasure();
    for (const d of devices) d.startTraffic();
    const redelivered = new Map<string, number>();
    /** Fleet messages each replica process handled: while it grows, the replicas are still working off the broker's backlog. */
    const handled = new Map<string, number>();
    const handledSum = () => [...handled.values()].reduce((a, b) => a + b, 0);
    /** Reads each replica's fleet counters; false when one that runs did not answer (busy: its counters are unknown). */
    const pollReplicas = async (): Promise<boolean> => {
      let answered = true;
      for (const r of replicas) {
        r.sample();
        if (!r.running()) continue;
        const stats = await fetch(`${r.url}/api/v1/replica`, { headers: { authorization: `Bearer ${operatorToken}` }, signal: AbortSignal.timeout(10_000) })
          .then((res) => (res.ok ? (res.json() as Promise<{ fleet: { messages: number; samples: { duplicates: number } } | null }>) : undefined))
          .catch(() => undefined);
        if (stats?.fleet && r.pid) {
          redelivered.set(`${r.spec.name}/${r.pid}`, stats.fleet.samples.duplicates);
          handled.set(`${r.spec.name}/${r.pid}`, stats.fleet.messages);
        } else answered = false;
      }
      return answered;
    };

    const api = async (path: string, init: RequestInit = {}) => {
      const res = await fetch(`${balancer.url}${path}`, { ...init, headers: { authorization: `Bearer ${operatorToken}`, 'content-type': 'application/json', ...init.headers }, signal: AbortSignal.timeout(10_000) });
      return { status: res.status, body: (await res.json()) as any };
    };
    const rolloutAt = trafficStart + (options.seconds * 1000) / 3;
    const rolloutDeadlineMs = Math.max(300_000, options.devices * 100);
    let rolloutId: string | undefined;
    let rolloutStarted = 0;
    let rollout: PublicRollout | undefined;
    let killed: { replica: Replica; holder: string; at: number } | undefined;
    let takeoverS: number | undefined;
    let restart: Promise<void> | undefined;
    let lastPoll = 0;
    for (;;) {
      const now = Date.now();
      if (now - lastPoll >= 1000) {
        lastPoll = now;
        await pollReplicas();
      }
      if (!rolloutId && now >= rolloutAt) {
        const canary = Math.max(1, Math.ceil(ids.length / 100));
        const request = await signRolloutRequest(releases, { release: v2.id, to: ids, canary, waveSize: Math.max(1, Math.ceil((ids.length - canary) / 4)), waveTimeoutMs: 120_000, currentModels: [v1.sha256] });
        const created = await api('/api/v1/rollouts', { method: 'POST', body: JSON.stringify(request) }).catch((err: Error) => ({ status: 0, body: { error: { message: err.message } } }));
        if (created.status === 202) {
          rolloutId = created.body.id as string;
          rolloutStarted = Date.now();
          logger.info({ rollout: rolloutId, waves: created.body.waves.length }, 'rollout started');
        } else if (created.status !== 503 && created.status !== 0) {
          throw new KestrelError('E_LOADTEST', `the hub refused the rollout (HTTP ${created.status}): ${JSON.stringify(created.body)}`);
        }
      }
      if (rolloutId) {
        const got = await api(`/api/v1/rollouts/${rolloutId}`).catch(() => undefined);
        if (got?.status === 200) rollout = got.body as PublicRollout;
        if (rollout && options.killReplica && !killed && rollout.status === 'running' && rollout.driver) {
          // Mid-rollout: the canaries passed and a later wave is out (or the only wave is).
          const midway = rollout.waves.length > 1 ? rollout.waves[1].sentAt !== undefined : rollout.waves[0].sentAt !== undefined;
          const victim = replicas.find((r) => rollout!.driver!.startsWith(`${r.spec.name}/`));
          if (midway && victim) {
            await victim.kill();
            killed = { replica: victim, holder: rollout.driver, at: Date.now() };
            logger.info({ replica: victim.spec.name, holder: killed.holder }, 'killed the replica holding the rollout lease (SIGKILL)');
            restart = sleep(RESTART_AFTER_MS).then(() => victim.start());
          }
        }
        if (killed && takeoverS === undefined && rollout && (rollout.status !== 'running' || (rollout.driver && rollout.driver !== killed.holder))) {
          takeoverS = round((Date.now() - killed.at) / 1000);
          logger.info({ holder: rollout.driver, takeoverS }, 'rollout taken over');
        }
      }
      const finished = rollout !== undefined && rollout.status !== 'running';
      if (now - trafficStart >= options.seconds * 1000 && (finished || (rolloutStarted && now - rolloutStarted > rolloutDeadlineMs))) break;
      if (!rolloutId && now - rolloutAt > 60_000) throw new KestrelError('E_LOADTEST', 'no replica took the rollout within 60 s (each answered 503: not hearing the fleet on the broker?)');
      await sleep(500);
    }
    for (const d of devices) d.stopTraffic();
    for (const r of replicas) r.endMeasure();
    const trafficS = (Date.now() - trafficStart) / 1000;
    const self = process.cpuUsage(selfAtStart);
    const brokerAtEnd = brokerPid ? processUsage(brokerPid)?.cpuSeconds : undefined;
    const pgAtEnd = pgAtStart !== undefined ? cpuSecondsOf('postgres') : undefined;
    await restart;
    logger.info({ trafficS: round(trafficS) }, 'traffic stopped; draining');

    // --- drain: uploads answered, MQTT samples acknowledged and handled
    const drainDeadline = Date.now() + 60_000;
    await Promise.all(devices.map((d) => d.drain(drainDeadline)));
    const ackedNow = () => [...ledger.samples.values()].filter((s) => s.acked).length;
    while (Date.now() < drainDeadline && [...ledger.samples.values()].some((s) => s.transport === 'mqtt' && !s.acked)) await sleep(200);
    // Until every confirmed sample is stored, or the replicas stop working off a backlog (nothing
    // handled for 5 s), or 10 minutes: an overloaded run drains for as long as its backlog needs.
    const drainStart = Date.now();
    await settle(async () => (await stores!.records.countSamples()) >= ackedNow(), async () => {
      if (!(await pollReplicas())) return undefined;
      return (await stores!.records.countSamples()) + handledSum();
    }, 600_000);
    const drainS = round((Date.now() - drainStart) / 1000);

    // --- count
    const expectedModels = new Map(devices.map((d, i) => [ids[i], d.model.sha256]));
    const before = countDevices(await stores.records.listFleetDevices(), expectedModels);
    // The broker hands a device's messages to the replicas in turn: a replica may handle an
    // older state after a newer one. The agent's next periodic state mends that; here it is sent now.
    await Promise.all(devices.map((d) => d.republishState()));
    let after = before;
    await settle(async () => {
      after = countDevices(await stores!.records.listFleetDevices(), expectedModels);
      return after.stale.length === 0;
    }, async () => {
      if (!(await pollReplicas())) return undefined;
      return after.stale.length + handledSum();
    }, 600_000);
    const samples = await countSamples(stores, ledger);
    const { mqttIngestMs, ...sampleFigures } = samples;
    const lost = samples.lost.http + samples.lost.mqtt + samples.missingImages + after.stale.length;
    const updated = ledger.counts.updatesApplied;

    return {
      devices: options.devices,
      replicas: options.replicas,
      sessions: options.sessions,
      seconds: options.seconds,
      lost,
      duplicated: samples.duplicateRows,
      ingest: { ...pct([...ledger.httpMs, ...mqttIngestMs]), http: pct(ledger.httpMs), mqtt: pct(mqttIngestMs) },
      cpu: replicas.map((r) => r.usage()),
      rollout: {
        finished: rollout !== undefined && rollout.status !== 'running',
        status: rollout?.status ?? 'not started',
        ...(rollout?.reason ? { reason: rollout.reason } : {}),
        durationS: rollout ? round(((rollout.finishedAt ?? Date.now()) - rollout.startedAt) / 1000) : 0,
        ...(takeoverS !== undefined ? { takeoverS } : {}),
        ...(killed ? { killed: killed.replica.spec.name } : {}),
        waves: rollout?.waves.length ?? 0,
        updated,
      },
      exactlyOnce: {
        samples: sampleFigures,
        devices: { expected: after.expected, rows: after.rows, stale: after.stale.length, staleIds: after.stale.slice(0, 20), staleBeforeRepublish: before.stale.length },
        redelivered: { http: ledger.counts.httpDuplicates, mqtt: [...redelivered.values()].reduce((a, b) => a + b, 0) },
      },
      traffic: {
        rates: RATES,
        events: { sent: ledger.counts.eventsSent, acked: ledger.counts.eventsAcked },
        stats: ledger.counts.statsSent,
        states: ledger.counts.statesSent,
        samples: { http: [...ledger.samples.values()].filter((s) => s.transport === 'http').length, mqtt: [...ledger.samples.values()].filter((s) => s.transport === 'mqtt').length },
        httpRetries: ledger.counts.httpRetries,
        queueDrops: ledger.counts.queueDrops,
        downloadRetries: ledger.counts.downloadRetries,
        balancer: balancer.connections(),
      },
      host: {
        cpus: cpus().length,
        loadavgStart,
        loadavgEnd: loadavg().map((x) => round(x, 2)),
        simulatorCpuPercent: round(((self.user + self.system) / 1e6 / trafficS) * 100),
        ...(brokerAtStart !== undefined && brokerAtEnd !== undefined ? { brokerCpuPercent: round(((brokerAtEnd - brokerAtStart) / trafficS) * 100) } : {}),
        ...(pgAtStart !== undefined && pgAtEnd !== undefined ? { postgresCpuPercent: round(((pgAtEnd - pgAtStart) / trafficS) * 100) } : {}),
      },
      records: run.describe,
      broker: options.broker ? redactUrl(options.broker) : `private mosquitto on ${broker!.url}`,
      trafficS: round(trafficS),
      drainS,
      wallS: round((Date.now() - wallStart) / 1000),
    };
  } finally {
    for (const step of cleanup.reverse()) await step().catch((err: Error) => logger.warn({ err: err.message }, 'load test cleanup step failed'));
    if (options.broker) await forgetOnBroker(options.broker, prefix, ids.slice(0, devices.length), replicas.flatMap((r) => Array.from({ length: options.sessions }, (_, i) => `${clientId}-${r.spec.name}${i ? `-${i}` : ''}`))).catch(() => undefined);
    if (stores) await closeStores(stores);
    await run?.drop().catch((err: Error) => logger.warn({ err: err.message }, 'dropping the load test schema failed'));
    rmSync(dir, { recursive: true, force: true });
  }
}

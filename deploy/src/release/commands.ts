import type { Command } from 'commander';
import { join } from 'node:path';
import { readFile } from 'node:fs/promises';
import { action, createLogger, KestrelError, printJson } from '@kestrel/core';
import { DEFAULT_GATE_MARGIN, parseGateMargin } from './gate/gate.js';
import type { DriftRecord } from '../store/types.js';

interface HubFlags {
  hubConfig?: string;
  /** One signing key file, or several (`--key a --key b`: a manifest signed by each, for devices that need k of n). */
  key?: string | string[];
  hubUrl?: string;
  json?: boolean;
}

/** What every release command opens: the hub config, its blob folder, the key, the broker. Loaded lazily. */
async function context(flags: HubFlags, needs: { key?: boolean; mqtt?: boolean } = {}) {
  const { loadHubConfig } = await import('@kestrel/config/load-hub');
  const { openBlobStore } = await import('../store/open.js');
  const { ReleaseService } = await import('./release-service.js');
  const { readSigningKey } = await import('./key-files.js');
  const config = loadHubConfig(flags.hubConfig);
  // The hub's own blob store (folder or bucket): a release written here is what the hub serves.
  const blobs = await openBlobStore(config.blobs);
  const keyPaths = [flags.key ?? []].flat();
  const keyPath = keyPaths[0] ?? join(config.dataDir, 'keys', 'release-signing.key');
  const signing = needs.key ? await Promise.all((keyPaths.length ? keyPaths : [keyPath]).map((path) => readSigningKey(path))) : undefined;
  const artifactBaseUrl = flags.hubUrl ?? `${config.tls ? 'https' : 'http'}://${config.bind}`;
  const releases = new ReleaseService({ blobs, artifactBaseUrl, signingKeys: signing?.map((s) => s.key) });
  let mqttClient: import('mqtt').MqttClient | undefined;
  if (needs.mqtt) {
    const mqtt = (await import('mqtt')).default;
    mqttClient = await mqtt.connectAsync(config.mqtt.url, { clientId: `kestrel-deploy-${process.pid}`, username: config.mqtt.username, password: config.mqtt.password, connectTimeout: 10_000, reconnectPeriod: 0 })
      .catch((err: Error) => { throw new KestrelError('E_MQTT', `cannot reach the broker ${config.mqtt.url}: ${err.message}`); });
  }
  // The devices the hub issued a token to, read from its record store when a rollout asks.
  const registeredDevices = async (): Promise<ReadonlySet<string>> => {
    const { openRecordStore } = await import('../store/open.js');
    const records = await openRecordStore(config.records);
    try {
      return new Set((await records.listTokens('device')).filter((t) => t.revokedAt === undefined).map((t) => t.name));
    } finally {
      await records.close();
    }
  };
  return { config, blobs, releases, keyPath, mqtt: mqttClient, registeredDevices };
}

interface ApiFlags {
  hub?: string;
  tokenFile?: string;
}

/** A rollout as GET /api/v1/rollouts/:id answers. */
interface RolloutView {
  id: string;
  release: string;
  status: string;
  reason?: string;
  driver?: string;
  waves: { devices: string[]; results: Record<string, { outcome: string }> }[];
}

async function apiOf(flags: ApiFlags, config: { bind: string; tls?: unknown }) {
  const { hubApi } = await import('./hub-api.js');
  return hubApi(flags.hub ?? `${config.tls ? 'https' : 'http'}://${config.bind}`, flags.tokenFile);
}

function printRollout(record: RolloutView): void {
  process.stdout.write(`rollout ${record.id}: ${record.release} ${record.status}${record.reason ? ` — ${record.reason}` : ''}\n`);
  record.waves.forEach((w, i) => process.stdout.write(`  wave ${i + 1}: ${w.devices.map((d) => `${d}=${w.results[d]?.outcome ?? 'not started'}`).join(' ')}\n`));
}

/** Commander's way to let a flag repeat: each value is added to the list. */
const collect = (value: string, previous: string[]): string[] => [...previous, value];

const hubOptions = (cmd: Command) => cmd.option('--hub-config <file>', 'hub config (default: built-in defaults, data in ./hub-data)');

/**
 * `kestrel deploy keygen | release | push | status | rollback | keys rotate`, added under the `deploy` command
 * the hub registers (pass that command in).
 */
export function registerDeployReleaseCommands(deploy: Command): void {
  hubOptions(deploy.command('keygen').description('create the Ed25519 key pair that signs release manifests'))
    .option('--out <path>', 'private key file (default <dataDir>/keys/release-signing.key; the public key goes to <path>.pub)')
    .option('--force', 'overwrite an existing key (devices that trust only the old key will refuse new releases)')
    .option('--json', 'print one JSON document on stdout')
    .action(action(async (flags: HubFlags & { out?: string; force?: boolean }) => {
      const { writeKeyPair } = await import('./key-files.js');
      const { keyPath } = await context({ ...flags, key: flags.out });
      const pair = await writeKeyPair(keyPath, { force: flags.force });
      if (flags.json) printJson({ keyId: pair.keyId, privateKey: keyPath, publicKey: `${keyPath}.pub`, publicKeyPem: pair.publicKeyPem });
      else process.stdout.write(`key ${pair.keyId}\n  private: ${keyPath} (keep it on the hub)\n  public:  ${keyPath}.pub — add to each device's update.trustedKeys:\n${pair.publicKeyPem}`);
    }));

  hubOptions(deploy.command('release <model>').description('store a model as a release (artifact + record) that devices can be given'))
    .requiredOption('--name <name>', 'release name')
    .requiredOption('--version <version>', 'release version')
    .option('--notes <text>', 'release notes')
    .option('--min-agent <x.y.z>', 'oldest agent version that may run it')
    .option('--gate <dataset>', 'score the model and the release it replaces on this held-out reviewed set (a hub export folder, YOLO or COCO, or a trainer dataset); refuse it if it is worse')
    .option('--gate-margin <map>', 'how far (absolute mAP@0.5) the candidate may fall below the replaced release and pass', String(DEFAULT_GATE_MARGIN))
    .option('--against <release>', 'the release to beat (name@version; default: the newest release of --name)')
    .option('--json', 'print one JSON document on stdout')
    .action(action(async (model: string, flags: HubFlags & { name: string; version: string; notes?: string; minAgent?: string; gate?: string; gateMargin: string; against?: string }) => {
      if (flags.against !== undefined && flags.gate === undefined) throw new KestrelError('E_USAGE', '--against names the release a --gate compares with; give --gate <dataset> too');
      const margin = parseGateMargin(flags.gateMargin);
      const { releases, blobs } = await context(flags);
      let bytes: Buffer;
      try {
        bytes = await readFile(model);
      } catch (err) {
        throw new KestrelError('E_RELEASE', `cannot read ${model}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
      }
      const id = await releases.checkNew(flags.name, flags.version);
      let gate: import('./gate/types.js').ReleaseGate | undefined;
      if (flags.gate !== undefined) {
        const { loadGateSet, pickBaseline, runGate, describeGate } = await import('./gate/index.js');
        const set = loadGateSet(flags.gate);
        const baseline = pickBaseline(await releases.list(), flags.name, flags.against);
        gate = await runGate({ candidate: { bytes, id }, baseline, set, margin, blobs });
        const report = describeGate(gate, id);
        if (set.labelSources && set.labelSources.device > 0) {
          report.push(`  note: ${set.labelSources.device} of ${set.images.length} images carry device pre-labels, not reviewed ones; they favour the model that made them`);
        }
        if (!gate.passed) {
          // A verdict, not a usage error: exit 1, as a rollout that did not complete.
          if (flags.json) printJson({ ok: false, refused: id, gate });
          process.stderr.write(`kestrel: release ${id} refused by the gate\n${report.join('\n')}\n`);
          return 1;
        }
        if (!flags.json) process.stdout.write(`${report.join('\n')}\n`);
      }
      const record = await releases.create({ bytes, name: flags.name, version: flags.version, notes: flags.notes, minAgentVersion: flags.minAgent, gate });
      if (flags.json) printJson(record);
      else process.stdout.write(`release ${record.id} (#${record.release}): ${record.size} bytes, sha256 ${record.sha256}, ${record.metadata.decoder}, ${record.metadata.labelCount} labels, ${record.metadata.inputSize.join('x')}\n`);
    }));

  const apiOptions = (cmd: Command) =>
    cmd
      .option('--hub <url>', 'the hub\'s API (default: http(s)://<bind> of the hub config)')
      .option('--token-file <file>', 'file holding an operator token (default: $KESTREL_HUB_TOKEN)');

  apiOptions(hubOptions(deploy.command('push <release>').description('ask the hub to roll a release out in waves: canaries first, the rest when they stay healthy')))
    .requiredOption('--to <devices>', 'comma-separated device ids, or "all"')
    .option('--canary <n|percent>', 'canary devices: a count or a percentage', '1')
    .option('--wave-size <n>', 'devices per wave after the canaries (default: all the rest)')
    .option('--abort-if <rule>', 'failures>N, or failures>P% [after M] (judge the share once M devices answered); a failing canary always aborts (default: the first failure aborts)')
    .option('--wave-timeout <seconds>', 'how long a wave may take, the devices\' health watch included', '900')
    .option('--expires <duration>', 'how long the signed manifests stay valid: 30m, 12h, 7d (5m to 365d); the rollout must finish within it', '7d')
    .option('--key <path>', 'signing key; repeat for devices that need several signatures (default <dataDir>/keys/release-signing.key)', collect, [] as string[])
    .option('--hub-url <url>', 'the hub address devices download from (default: http(s)://<bind>)')
    .option('--wait', 'follow the rollout until it finishes (exit 0 only if it completed)')
    .option('--json', 'print one JSON document on stdout')
    .action(action(async (releaseId: string, flags: HubFlags & ApiFlags & { to: string; canary: string; waveSize?: string; abortIf?: string; waveTimeout: string; expires: string; wait?: boolean }) => {
      const { parseManifestTtl } = await import('./duration.js');
      const manifestTtlMs = parseManifestTtl(flags.expires, '--expires');
      const { parseAbortRule } = await import('../rollout/plan.js');
      parseAbortRule(flags.abortIf);
      const waveSize = flags.waveSize === undefined ? undefined : Number(flags.waveSize);
      if (waveSize !== undefined && !(Number.isInteger(waveSize) && waveSize > 0)) throw new KestrelError('E_USAGE', `--wave-size must be a positive whole number, got "${flags.waveSize}"`);
      const waveTimeoutMs = Number(flags.waveTimeout) * 1000;
      if (!(Number.isFinite(waveTimeoutMs) && waveTimeoutMs >= 1000)) throw new KestrelError('E_USAGE', `--wave-timeout must be at least 1 second, got "${flags.waveTimeout}"`);
      const ctx = await context(flags, { key: true });
      const api = await apiOf(flags, ctx.config);
      const { signRolloutRequest } = await import('../rollout/signed-request.js');
      // Signed here, with the operator's keys: the hub gets manifests, never a key.
      const { devices } = await api.call<{ devices: { model?: { sha256: string } | null }[] }>('GET', '/api/v1/devices');
      const request = await signRolloutRequest(ctx.releases, {
        release: releaseId,
        to: flags.to === 'all' ? 'all' : flags.to.split(',').map((d) => d.trim()).filter(Boolean),
        canary: flags.canary,
        ...(waveSize !== undefined ? { waveSize } : {}),
        ...(flags.abortIf !== undefined ? { abortIf: flags.abortIf } : {}),
        waveTimeoutMs,
        currentModels: devices.map((d) => d.model?.sha256),
        manifestTtlMs,
      });
      let record = await api.call<RolloutView>('POST', '/api/v1/rollouts', request);
      if (!flags.wait) {
        if (flags.json) printJson(record);
        else process.stdout.write(`rollout ${record.id}: ${releaseId} started on the hub, ${record.waves.length} wave(s) (kestrel deploy status; kestrel deploy abort ${record.id})\n`);
        return 0;
      }
      while (record.status === 'running') {
        await new Promise((r) => setTimeout(r, 1000));
        record = await api.call<RolloutView>('GET', `/api/v1/rollouts/${encodeURIComponent(record.id)}`);
      }
      if (flags.json) printJson(record);
      else printRollout(record);
      return record.status === 'completed' ? 0 : 1;
    }));

  apiOptions(hubOptions(deploy.command('status').description('each device\'s model, last update result and reason; cameras whose drift alert is on; the hub\'s last rollouts, and the last releases with their gate figures')))
    .option('--json', 'print one JSON document on stdout')
    .action(action(async (flags: HubFlags & ApiFlags) => {
      const { FleetView } = await import('../rollout/fleet-view.js');
      const ctx = await context(flags, { mqtt: true });
      try {
        const api = await apiOf(flags, ctx.config);
        const view = new FleetView(ctx.mqtt!, ctx.config.mqtt.prefix);
        await view.start(1000);
        const devices = view.list();
        await view.stop();
        const rollouts = (await api.call<{ rollouts: RolloutView[] }>('GET', '/api/v1/rollouts')).rollouts.slice(0, 5).reverse();
        // Each camera's latest drift (the JSON has all; the text the alerts only: the rest is fine).
        const drift = (await api.call<{ cameras: DriftRecord[] }>('GET', '/api/v1/drift')).cameras;
        // The newest releases with the gate each passed: what a rollout would put on devices, and on what evidence.
        const releases = (await ctx.releases.list()).slice(-5);
        // The running shadow comparisons, one line each (the full report: kestrel deploy shadow status <id>).
        const shadows = (await api.call<{ shadows: import('../shadow/aggregate.js').ShadowSummary[] }>('GET', '/api/v1/shadows')).shadows.filter((s) => s.status === 'running');
        if (flags.json) return printJson({ devices, drift, rollouts, releases, shadows });
        for (const d of devices) {
          const m = d.model;
          const model = m?.current ? `${m.current.name} ${m.current.version}` : '-';
          process.stdout.write(`${d.deviceId.padEnd(20)} ${d.online ? 'online ' : 'offline'} ${model.padEnd(24)} ${m ? `${m.status}${m.health ? `/${m.health}` : ''}` : '-'}${m?.reason ? `  ${m.reason}` : ''}\n`);
        }
        for (const d of drift.filter((c) => c.drifted)) {
          const worst = d.detail.worst ? ` (${d.detail.worst.histogram}${d.detail.worst.label ? ` of ${d.detail.worst.label}` : ''})` : '';
          process.stdout.write(`drift ${d.deviceId}/${d.camera}  PSI ${d.psi.toFixed(2)} > ${d.detail.threshold}${worst}, JS ${d.js.toFixed(2)}, model ${d.modelVersion}, since ${new Date(d.since).toISOString()}\n`);
        }
        if (shadows.length) {
          const { shadowLine } = await import('../shadow/format.js');
          for (const sh of shadows) process.stdout.write(shadowLine(sh));
        }
        for (const r of rollouts) process.stdout.write(`rollout ${r.id} ${r.release} ${r.status}${r.driver ? ` (driven by ${r.driver})` : ''}${r.reason ? ` — ${r.reason}` : ''}\n`);
        const { gateSummary } = await import('./gate/format.js');
        for (const r of releases) process.stdout.write(`release ${r.id} #${r.release}  ${r.gate ? gateSummary(r.gate) : 'no gate'}\n`);
      } finally {
        await ctx.mqtt?.endAsync();
      }
    }));

  apiOptions(hubOptions(deploy.command('abort <rollout>').description('stop a running rollout: no further waves; devices that took the release get a signed rollback')))
    .option('--wait', 'wait until the hub has stopped it')
    .option('--json', 'print one JSON document on stdout')
    .action(action(async (id: string, flags: HubFlags & ApiFlags & { wait?: boolean }) => {
      const { loadHubConfig } = await import('@kestrel/config/load-hub');
      const api = await apiOf(flags, loadHubConfig(flags.hubConfig));
      await api.call('POST', `/api/v1/rollouts/${encodeURIComponent(id)}/abort`);
      let record = await api.call<RolloutView>('GET', `/api/v1/rollouts/${encodeURIComponent(id)}`);
      while (flags.wait && record.status === 'running') {
        await new Promise((r) => setTimeout(r, 1000));
        record = await api.call<RolloutView>('GET', `/api/v1/rollouts/${encodeURIComponent(id)}`);
      }
      if (flags.json) printJson(record);
      else if (record.status === 'running') process.stdout.write(`rollout ${id}: abort requested; the replica driving it stops it at its next step\n`);
      else printRollout(record);
    }));

  hubOptions(deploy.command('rollback').description('send devices a signed rollback: to the release each ran before, or to --release'))
    .requiredOption('--to <devices>', 'comma-separated device ids, or "all"')
    .option('--release <id>', 'roll back to this release (name@version) instead of each device\'s previous one')
    .option('--key <path>', 'signing key; repeat for devices that need several signatures (default <dataDir>/keys/release-signing.key)', collect, [] as string[])
    .option('--hub-url <url>', 'the hub address devices download from (default: http(s)://<bind>)')
    .option('--json', 'print one JSON document on stdout')
    .action(action(async (flags: HubFlags & { to: string; release?: string }) => {
      const { RolloutController } = await import('../rollout/controller.js');
      const ctx = await context(flags, { key: true, mqtt: true });
      try {
        const controller = new RolloutController({ mqtt: ctx.mqtt!, prefix: ctx.config.mqtt.prefix, releases: ctx.releases, blobs: ctx.blobs, registeredDevices: ctx.registeredDevices, logger: createLogger('rollout') });
        const sent = await controller.rollback(flags.to === 'all' ? 'all' : flags.to.split(',').map((d) => d.trim()), flags.release);
        if (flags.json) printJson({ sent });
        else for (const [device, release] of Object.entries(sent)) process.stdout.write(`${device}: signed rollback to ${release}\n`);
        return Object.keys(sent).length ? 0 : 1;
      } finally {
        await ctx.mqtt?.endAsync();
      }
    }));

  const keys = deploy.command('keys').description('the release keys devices trust: rotate them (TUF-style, k of n)');
  hubOptions(keys.command('rotate').description('send devices a new set of trusted release keys, signed by enough old and new key holders'))
    .requiredOption('--trust <pub>', 'public key file devices trust from now on (repeat for each)', collect, [] as string[])
    .requiredOption('--sign <key>', 'private key file that signs the set: enough of the keys devices trust now, and enough of the new ones (repeat)', collect, [] as string[])
    .option('--threshold <k>', 'how many of the new keys must sign each release', '1')
    .requiredOption('--to <devices>', 'comma-separated device ids, or "all" (every device with a hub token)')
    .option('--expires <duration>', 'how long devices may take the set: 30m, 12h, 7d (5m to 365d)', '30d')
    .option('--json', 'print the key set as JSON on stdout')
    .action(action(async (flags: HubFlags & { trust: string[]; sign: string[]; threshold: string; to: string; expires: string }) => {
      const threshold = Number(flags.threshold);
      if (!Number.isInteger(threshold) || threshold < 1 || threshold > 16) throw new KestrelError('E_USAGE', `--threshold must be a whole number from 1 to 16, got "${flags.threshold}"`);
      const { parseManifestTtl } = await import('./duration.js');
      const ttlMs = parseManifestTtl(flags.expires, '--expires');
      const { parsePublicKey } = await import('@kestrel/core');
      const { readSigningKey } = await import('./key-files.js');
      const trusted = await Promise.all(flags.trust.map(async (path) => {
        const text = await readFile(path, 'utf8').catch((err: NodeJS.ErrnoException) => { throw new KestrelError('E_RELEASE_KEY', `cannot read --trust ${path} (${err.code ?? err.message})`); });
        return parsePublicKey(text, `--trust ${path}`);
      }));
      const signers = (await Promise.all(flags.sign.map((path) => readSigningKey(path)))).map((s) => s.key);
      const ctx = await context(flags, { mqtt: true });
      try {
        const devices = flags.to === 'all' ? [...(await ctx.registeredDevices())].sort() : flags.to.split(',').map((d) => d.trim()).filter(Boolean);
        const { KeyRotation } = await import('./key-rotation.js');
        const set = await new KeyRotation({ blobs: ctx.blobs, mqtt: ctx.mqtt!, prefix: ctx.config.mqtt.prefix, logger: createLogger('keys') }).rotate({ keys: trusted, threshold, signers, ttlMs, devices });
        if (flags.json) printJson(set);
        else process.stdout.write(`key set ${set.version}: ${set.keys.length} key${set.keys.length === 1 ? '' : 's'}, ${set.threshold} must sign; sent to ${devices.length} device${devices.length === 1 ? '' : 's'} (retained on <prefix>/<device>/keys/set)\n`);
      } finally {
        await ctx.mqtt?.endAsync();
      }
    }));

  // `kestrel deploy shadow start | status | stop`: a candidate beside the current model on live frames.
  const shadow = deploy.command('shadow').description('run a candidate release beside the current model on a share of live frames and compare (A/B)');
  apiOptions(hubOptions(shadow.command('start <release>').description('send devices a signed candidate to run beside their model on a share of frames; they report agreement, detection rate and latency')))
    .requiredOption('--to <devices>', 'comma-separated device ids, or "all"')
    .option('--share <fraction>', 'share of live frames the candidate sees, in (0, 1]', String(0.1))
    .option('--hours <n>', 'how long the devices run it', String(24))
    .option('--key <path>', 'signing key; repeat for devices that need several signatures (default <dataDir>/keys/release-signing.key)', collect, [] as string[])
    .option('--hub-url <url>', 'the hub address devices download from (default: http(s)://<bind>)')
    .option('--json', 'print one JSON document on stdout')
    .action(action(async (releaseId: string, flags: HubFlags & ApiFlags & { to: string; share: string; hours: string }) => {
      const { shareProblem, hoursProblem } = await import('../shadow/request.js');
      const share = Number(flags.share);
      const hours = Number(flags.hours);
      const badShare = shareProblem(share);
      if (badShare) throw new KestrelError('E_USAGE', `--share: ${badShare.replace(/^share /, '')}`);
      const badHours = hoursProblem(hours);
      if (badHours) throw new KestrelError('E_USAGE', `--hours: ${badHours.replace(/^hours /, '')}`);
      const ctx = await context(flags, { key: true });
      const api = await apiOf(flags, ctx.config);
      // Signed here, with the operator's keys, valid an hour past the shadow's end: the hub gets a manifest, never a key.
      const release = await ctx.releases.require(releaseId);
      const manifest = await ctx.releases.issueManifest(release, { ttlMs: Math.round(hours * 3_600_000) + 3_600_000 });
      const to = flags.to === 'all' ? 'all' : flags.to.split(',').map((d) => d.trim()).filter(Boolean);
      const summary = await api.call<import('../shadow/aggregate.js').ShadowSummary>('POST', '/api/v1/shadows', { release: release.id, to, share, hours, manifest });
      if (flags.json) return printJson(summary);
      process.stdout.write(`shadow ${summary.id}: ${summary.release} on ${summary.targets.join(', ')}, share ${summary.share}, until ${new Date(summary.until).toISOString()} (kestrel deploy shadow status ${summary.id}; kestrel deploy shadow stop ${summary.id})\n`);
    }));

  apiOptions(hubOptions(shadow.command('status [id]').description('a shadow\'s per-release report (devices reporting, frames, agreement, detection-rate and latency ratios, each device), or one line per shadow')))
    .option('--json', 'print one JSON document on stdout')
    .action(action(async (id: string | undefined, flags: HubFlags & ApiFlags) => {
      const { loadHubConfig } = await import('@kestrel/config/load-hub');
      const { formatShadow, shadowLine } = await import('../shadow/format.js');
      type Summary = import('../shadow/aggregate.js').ShadowSummary;
      const api = await apiOf(flags, loadHubConfig(flags.hubConfig));
      if (id !== undefined) {
        const summary = await api.call<Summary>('GET', `/api/v1/shadows/${encodeURIComponent(id)}`);
        if (flags.json) return printJson(summary);
        return void process.stdout.write(formatShadow(summary));
      }
      const { shadows } = await api.call<{ shadows: Summary[] }>('GET', '/api/v1/shadows');
      if (flags.json) return printJson({ shadows });
      if (shadows.length === 0) process.stdout.write('no shadows (kestrel deploy shadow start <release> --to <devices>)\n');
      for (const s of shadows) process.stdout.write(shadowLine(s));
    }));

  apiOptions(hubOptions(shadow.command('stop <id>').description('tell the shadow\'s devices to stop running the candidate (the report stays)')))
    .option('--json', 'print one JSON document on stdout')
    .action(action(async (id: string, flags: HubFlags & ApiFlags) => {
      const { loadHubConfig } = await import('@kestrel/config/load-hub');
      const { formatShadow } = await import('../shadow/format.js');
      const api = await apiOf(flags, loadHubConfig(flags.hubConfig));
      const summary = await api.call<import('../shadow/aggregate.js').ShadowSummary>('POST', `/api/v1/shadows/${encodeURIComponent(id)}/stop`);
      if (flags.json) return printJson(summary);
      process.stdout.write(formatShadow(summary));
    }));
}

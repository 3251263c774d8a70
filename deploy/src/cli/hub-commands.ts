import type { Command } from 'commander';
import { action, createLogger, KestrelError, logsArePretty, printJson, table } from '@kestrel/core';
import type { HubConfig } from '@kestrel/config/schema/hub';
import type { TokenRole } from '../store/types.js';
import { STORE_UNAVAILABLE } from '../store/errors.js';

interface ConfigFlag {
  config?: string;
}

const CONFIG_FLAG = ['-c, --config <file>', 'hub config (default: $KESTREL_HUB_CONFIG, else defaults with data in ./hub-data)'] as const;
const FILTER_FLAGS: [string, string][] = [
  ['--device <id>', 'only this device'],
  ['--camera <name>', 'only this camera'],
  ['--label <name>', 'only samples with this label (reviewed labels where present, else pre-labels)'],
  ['--strategy <name>', 'only samples kept by this strategy (uncertainty, random, rareClass, countChange, disagreement)'],
  ['--since <time>', 'captured at or after (ISO date or epoch ms)'],
  ['--until <time>', 'captured before (ISO date or epoch ms)'],
  ['--reviewed <bool>', 'true: only reviewed samples; false: only unreviewed'],
];

type FilterFlags = { device?: string; camera?: string; label?: string; strategy?: string; since?: string; until?: string; reviewed?: string };

async function config(flags: ConfigFlag): Promise<HubConfig> {
  const { loadHubConfig } = await import('@kestrel/config/load-hub');
  return loadHubConfig(flags.config ?? (process.env.KESTREL_HUB_CONFIG || undefined));
}

async function withStores<T>(flags: ConfigFlag, fn: (stores: import('../store/open.js').HubStores) => Promise<T>): Promise<T> {
  const { closeStores, openStores } = await import('../store/open.js');
  const stores = await openStores(await config(flags));
  try {
    return await fn(stores);
  } finally {
    await closeStores(stores);
  }
}

async function filterOf(flags: FilterFlags) {
  const { filterFrom, QueryError } = await import('../hub/http/query.js');
  try {
    return filterFrom(flags);
  } catch (err) {
    if (err instanceof QueryError) throw new KestrelError('E_USAGE', `--${err.message}`);
    throw err;
  }
}

/** `kestrel hub ...`: the service, device tokens, the fleet table, sample listing and dataset export. */
export function registerHubCommands(program: Command): void {
  const hub = program
    .command('hub')
    .description('the fleet hub: sample ingest (HTTP), device tokens, the device table (MQTT), the review UI at /ui/, dataset export and import')
    .option(...CONFIG_FLAG)
    .option('--log-level <level>', 'fatal|error|warn|info|debug|trace')
    .action(async (flags: ConfigFlag & { logLevel?: string }) => {
      process.exitCode = await runHub(flags);
    });

  for (const role of ['device', 'operator'] as const) registerTokenCommands(hub, role);

  hub
    .command('devices')
    .description('the fleet as the hub sees it on MQTT: online, model, cameras, last seen')
    .option(...CONFIG_FLAG)
    .option('--json', 'print one JSON document on stdout')
    .action(
      action(async (flags: ConfigFlag & { json?: boolean }) => {
        const devices = await withStores(flags, (s) => s.records.listFleetDevices());
        if (flags.json) return printJson({ devices: devices.map((d) => ({ ...d, lastSeen: d.lastSeen || null })) });
        if (devices.length === 0) return void process.stdout.write('no devices seen yet (the hub follows <prefix>/+/status and <prefix>/+/state)\n');
        const rows = devices.map((d) => [
          d.deviceId,
          d.online ? 'online' : 'offline',
          d.model ? `${d.model.name} ${d.model.version} (${d.model.provider})` : '-',
          Object.entries(d.cameras).map(([name, c]) => `${name}:${c.state}`).join(' ') || '-',
          d.lastSeen ? new Date(d.lastSeen).toISOString() : '-',
        ]);
        process.stdout.write(`${table(['DEVICE', 'STATUS', 'MODEL', 'CAMERAS', 'LAST SEEN'], rows)}\n`);
      }),
    );

  hub
    .command('loadtest')
    .description('start hub replicas, a broker and simulated devices on this machine (127.0.0.1 only), roll a signed release out to all of them, and count what was lost or handled twice')
    .option('--devices <n>', 'simulated devices, each its own MQTT client and HTTP uploader', '200')
    .option('--replicas <n>', 'hub replicas, each its own process behind a round-robin balancer', '2')
    .option('--seconds <s>', 'seconds of traffic once every device is connected (the run goes on until the rollout finished)', '60')
    .option('--records <url>', 'a postgres:// database to run on (a schema of its own, dropped after); default: a fresh SQLite file')
    .option('--kill-replica', 'kill -9 the replica holding the rollout lease mid-rollout (it comes back 5 s later, as systemd restarts it)')
    .option('--broker <url>', 'an MQTT broker to use (its retained topics and sessions are cleaned up after); default: a private mosquitto on a free port')
    .option('--lease-seconds <s>', "the replicas' rollouts.leaseSeconds", '6')
    .option('--sessions <n>', "the replicas' mqtt.sessions: fleet sessions each, handling a message at a time", '1')
    .option('--json', 'print the report as one JSON document on stdout')
    .action(
      action(async (flags: { devices?: string; replicas?: string; seconds?: string; records?: string; killReplica?: boolean; broker?: string; leaseSeconds?: string; sessions?: string; json?: boolean }) => {
        const { loadtestOptions } = await import('../loadtest/options.js');
        const { runLoadtest } = await import('../loadtest/run.js');
        const { formatReport, passed } = await import('../loadtest/report.js');
        // Each replica is this same CLI (`kestrel hub`), started the way this process was (from dist or the sources).
        const options = loadtestOptions(flags, [...process.execArgv, process.argv[1], 'hub']);
        const logger = createLogger('kestrel-loadtest', { level: flags.json ? 'warn' : 'info' });
        const report = await runLoadtest(options, logger);
        if (flags.json) printJson(report);
        else process.stdout.write(formatReport(report));
        return passed(report) ? 0 : 1;
      }),
    );

  const samples = hub.command('samples').description('list stored samples (newest last)').option(...CONFIG_FLAG);
  for (const [flag, help] of FILTER_FLAGS) samples.option(flag, help);
  samples
    .option('--limit <n>', 'at most this many', '100')
    .option('--json', 'print one JSON document on stdout')
    .action(
      action(async (flags: ConfigFlag & FilterFlags & { limit: string; json?: boolean }) => {
        const filter = await filterOf(flags);
        const limit = Number(flags.limit);
        if (!Number.isInteger(limit) || limit < 1 || limit > 1000) throw new KestrelError('E_USAGE', `--limit must be a whole number from 1 to 1000, got "${flags.limit}"`);
        const { total, page } = await withStores(flags, async (s) => ({ total: await s.records.countSamples(filter), page: await s.records.listSamples(filter, { limit }) }));
        if (flags.json) return printJson({ total, samples: page.samples.map(({ blobKey: _key, ...rest }) => rest) });
        const rows = page.samples.map((s) => [
          new Date(s.capturedAt).toISOString(),
          s.deviceId,
          s.camera,
          s.id,
          s.reasons.join(','),
          String((s.reviewed?.labels ?? s.detections).length) + (s.reviewed ? ' (reviewed)' : ''),
        ]);
        process.stdout.write(`${table(['CAPTURED', 'DEVICE', 'CAMERA', 'ID', 'REASONS', 'LABELS'], rows)}\n`);
        process.stdout.write(`${page.samples.length} of ${total} sample${total === 1 ? '' : 's'}\n`);
      }),
    );

  const exp = hub
    .command('export')
    .description('write stored samples as a dataset the trainer imports: YOLO (images/, labels/, data.yaml) or COCO (annotations.json), or as a Label Studio import file with pre-annotations')
    .requiredOption('--format <format>', 'yolo, coco or labelstudio')
    .requiredOption('-o, --out <dir>', 'output folder (new or empty)')
    .option(...CONFIG_FLAG);
  for (const [flag, help] of FILTER_FLAGS) exp.option(flag, help);
  exp
    .option('--min-score <s>', 'device pre-labels below this score are left out (reviewed labels always count)', '0.35')
    .option('--classes <list>', 'class names in id order, comma separated; other labels are left out (default: every label used, sorted)')
    .option('--image-url <prefix>', 'labelstudio: what task image URLs start with, the file name following (default: /data/local-files/?d=images/, for Label Studio serving local files with LOCAL_FILES_DOCUMENT_ROOT at the export folder)')
    .option('--json', 'print the report as one JSON document on stdout')
    .action(
      action(async (flags: ConfigFlag & FilterFlags & { format: string; out: string; minScore: string; classes?: string; imageUrl?: string; json?: boolean }) => {
        if (flags.format !== 'yolo' && flags.format !== 'coco' && flags.format !== 'labelstudio') throw new KestrelError('E_USAGE', `--format must be yolo, coco or labelstudio, got "${flags.format}"`);
        if (flags.imageUrl !== undefined && flags.format !== 'labelstudio') throw new KestrelError('E_USAGE', '--image-url is for --format labelstudio');
        const minScore = Number(flags.minScore);
        if (!(minScore >= 0 && minScore <= 1)) throw new KestrelError('E_USAGE', `--min-score must be a number from 0 to 1, got "${flags.minScore}"`);
        const classes = flags.classes?.split(',').map((c) => c.trim()).filter(Boolean);
        if (classes && new Set(classes).size !== classes.length) throw new KestrelError('E_USAGE', '--classes lists a name twice');
        const filter = await filterOf(flags);
        const { exportDataset } = await import('../export/export.js');
        const report = await withStores(flags, (stores) => exportDataset(stores, { format: flags.format as 'yolo' | 'coco' | 'labelstudio', out: flags.out, filter, minScore, classes, imageUrl: flags.imageUrl }));
        if (flags.json) return printJson(report);
        const skipped = Object.entries(report.skipped).map(([why, n]) => `${n} ${why}`).join(', ');
        process.stdout.write(
          `exported ${report.images} image${report.images === 1 ? '' : 's'} with ${report.boxes} boxes (${report.labelSources.reviewed} reviewed, ${report.labelSources.device} pre-labelled) ` +
            `as ${report.format} to ${report.out}\nclasses: ${report.classes.join(', ') || '(none)'}\n${skipped ? `left out: ${skipped}\n` : ''}`,
        );
      }),
    );

  hub
    .command('import')
    .description('write reviewed labels from a labelling tool back to the hub, by sample id: COCO JSON (as exported, then edited) or Label Studio\'s JSON export')
    .requiredOption('--format <format>', 'coco or labelstudio')
    .argument('<file>', 'annotations.json (COCO) or the JSON file Label Studio exported')
    .option('--by <name>', 'who the reviews are recorded as (default: import:<file name>)')
    .option('--json', 'print the report as one JSON document on stdout')
    .option(...CONFIG_FLAG)
    .action(
      action(async (file: string, flags: ConfigFlag & { format: string; by?: string; json?: boolean }) => {
        if (flags.format !== 'coco' && flags.format !== 'labelstudio') throw new KestrelError('E_USAGE', `--format must be coco or labelstudio, got "${flags.format}"`);
        const { readFileSync } = await import('node:fs');
        const { basename } = await import('node:path');
        let doc: unknown;
        try {
          doc = JSON.parse(readFileSync(file, 'utf8'));
        } catch (err) {
          throw new KestrelError('E_USAGE', `${file}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : `not readable JSON (${(err as Error).message})`}`);
        }
        const hubConfig = await config(flags);
        const { importReviews } = await import('../import/apply.js');
        const rules = { classes: hubConfig.review.classes, maxLabels: hubConfig.limits.maxDetections };
        const report = await withStores(flags, (s) => importReviews(s.records, flags.format as 'coco' | 'labelstudio', doc, { by: flags.by ?? `import:${basename(file)}`, rules }));
        if (flags.json) return printJson(report);
        process.stdout.write(
          `imported reviews of ${report.saved} sample${report.saved === 1 ? '' : 's'} (${report.boxes} boxes, ${report.empty} "nothing here")` +
            `${report.unlabelled ? `; ${report.unlabelled} not annotated in the file, left as they were` : ''}\n` +
            (report.conflicts.length ? `kept the newer review of ${report.conflicts.length} sample(s) reviewed again while importing: ${report.conflicts.join(', ')}\n` : ''),
        );
      }),
    );
}

function registerTokenCommands(hub: Command, role: TokenRole): void {
  const what = role === 'device' ? 'device tokens (sample upload)' : 'operator tokens (the review UI, and listing samples and the device table over HTTP)';
  const group = hub.command(role).description(what);
  group
    .command('add')
    .description(`issue a token for a ${role}; it is printed once and stored only as a hash`)
    .argument('<name>', role === 'device' ? 'the device id (its config device.id)' : 'who uses it')
    .option('--replace', 'revoke the current token and issue a new one')
    .option('--json', 'print { name, role, token } on stdout')
    .option(...CONFIG_FLAG)
    .action(
      action(async (name: string, flags: ConfigFlag & { replace?: boolean; json?: boolean }) => {
        const { issueToken } = await import('../hub/tokens.js');
        const issued = await withStores(flags, (s) => issueToken(s.records, name, role, { replace: flags.replace }));
        if (flags.json) return printJson({ name: issued.name, role: issued.role, token: issued.token });
        process.stdout.write(`${issued.token}\n`);
        process.stderr.write(
          role === 'device'
            ? `token for device "${name}" issued; it is shown only this once. Give it to the agent as sampling.upload.token (e.g. token: \${KESTREL_HUB_TOKEN}).\n`
            : `operator token for "${name}" issued; it is shown only this once.\n`,
        );
      }),
    );
  group
    .command('revoke')
    .description(`revoke a ${role}'s token: requests with it are refused from now on`)
    .argument('<name>')
    .option(...CONFIG_FLAG)
    .action(
      action(async (name: string, flags: ConfigFlag) => {
        const { revokeToken } = await import('../hub/tokens.js');
        await withStores(flags, (s) => revokeToken(s.records, name, role));
        process.stderr.write(`revoked the token of ${role} "${name}"\n`);
      }),
    );
  group
    .command('list')
    .description(`${role}s with tokens, active and revoked`)
    .option('--json', 'print one JSON document on stdout')
    .option(...CONFIG_FLAG)
    .action(
      action(async (flags: ConfigFlag & { json?: boolean }) => {
        const tokens = await withStores(flags, (s) => s.records.listTokens(role));
        const list = tokens.map((t) => ({ name: t.name, createdAt: t.createdAt, revokedAt: t.revokedAt ?? null, active: t.revokedAt === undefined }));
        if (flags.json) return printJson({ [`${role}s`]: list });
        const rows = list.map((t) => [t.name, t.active ? 'active' : 'revoked', new Date(t.createdAt).toISOString(), t.revokedAt ? new Date(t.revokedAt).toISOString() : '-']);
        process.stdout.write(rows.length ? `${table(['NAME', 'TOKEN', 'ISSUED', 'REVOKED'], rows)}\n` : `no ${role} tokens yet (kestrel hub ${role} add <name>)\n`);
      }),
    );
}

async function runHub(flags: ConfigFlag & { logLevel?: string }): Promise<number> {
  let hubConfig: HubConfig;
  try {
    hubConfig = await config(flags);
  } catch (err) {
    if (err instanceof KestrelError) {
      // Off a terminal stderr carries JSON lines only, so a log reader sees this error too.
      if (logsArePretty()) process.stderr.write(`kestrel: ${err.message}\n`);
      else {
        const log = createLogger('kestrel-hub');
        log.error({ code: err.code }, err.message);
        await new Promise<void>((resolve) => log.flush(() => resolve()));
      }
      return 2;
    }
    throw err;
  }
  const logger = createLogger('kestrel-hub', { level: (flags.logLevel ?? hubConfig.log.level) as 'info' });
  const { Hub } = await import('../hub/hub.js');
  const hub = new Hub(hubConfig, logger);
  let stopping = false;
  const stop = async (signal: string): Promise<void> => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'stopping');
    const hardExit = setTimeout(() => process.exit(1), 10_000);
    hardExit.unref();
    await hub.stop();
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));
  try {
    await hub.start();
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    if (err instanceof KestrelError || e.code === 'EADDRINUSE' || e.code === 'EACCES') {
      logger.error({ code: e.code }, e.code === 'EADDRINUSE' ? `${hubConfig.bind} is already in use (bind in the hub config)` : e.message);
      await hub.stop().catch(() => undefined);
      // A database or bucket not reachable yet (booted before it) is worth a restart: exit 1,
      // which systemd restarts; 2 stays for what only a config change can mend.
      return e.code === STORE_UNAVAILABLE ? 1 : 2;
    }
    throw err;
  }
  const { records, blobs } = hubConfig;
  const { describeBlobs, describeRecords } = await import('@kestrel/config/schema/hub-stores');
  const data = records.type === 'sqlite' && blobs.type === 'filesystem' ? hubConfig.dataDir : `records ${describeRecords(records)}, blobs ${describeBlobs(blobs)}`;
  // For a person at a terminal; otherwise stderr carries the JSON log only (its "hub started" line says the same).
  if (logsArePretty()) process.stderr.write(`Kestrel hub listening on ${hub.url} (data: ${data}).\n`);
  return new Promise<number>(() => undefined);
}

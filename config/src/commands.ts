import { writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import { stringify } from 'yaml';
import { isKestrelError } from '@kestrel/core/util/errors';
import { formatIssue, type ConfigIssue } from './issues.js';
import { configJsonSchema, hubConfigJsonSchema } from './json-schema.js';
import { checkConfig, loadConfig } from './load.js';
import { checkHubConfig, loadHubConfig } from './load-hub.js';
import { redactConfig } from './redact.js';
import { describeBlobs, describeRecords } from './schema/hub-stores.js';

/**
 * `kestrel config schema | check | show`, for the agent's config or, with --hub, the hub's. Output goes through commander's output configuration
 * (stdout for results, stderr for diagnostics), so `--json` output stays one clean document.
 */
export function registerConfigCommands(program: Command): Command {
  const config = program.command('config').description('check the agent (or, with --hub, the hub) configuration and print its schema');

  config
    .command('schema')
    .description('print the JSON Schema of the config file (editors use it for completion and checks)')
    .option('--out <file>', 'write it to a file instead of stdout')
    .option('--hub', 'the schema of the hub config (hub.yaml) instead')
    .option('--payloads', 'instead: the JSON Schema of every MQTT payload, by topic kind')
    .action(async function (this: Command, options: { out?: string; hub?: boolean; payloads?: boolean }) {
      // The payload schemas live with the MQTT contract in core; loaded only when asked for.
      const schema = options.payloads ? (await import('@kestrel/core/mqtt/index')).payloadJsonSchemas() : options.hub ? hubConfigJsonSchema() : configJsonSchema();
      const text = `${JSON.stringify(schema, null, 2)}\n`;
      if (options.out) {
        writeFileSync(options.out, text);
        this.configureOutput().writeErr?.(`wrote ${options.out}\n`);
      } else {
        this.configureOutput().writeOut?.(text);
      }
    });

  config
    .command('check')
    .description('validate a config file and list every problem with its path (exit code 1 when invalid)')
    .argument('<file>', 'YAML config file')
    .option('--hub', 'the file is a hub config (hub.yaml), not an agent config')
    .option('--json', 'print { ok, errors: [{ path, message, line?, column? }] } on stdout')
    .action(function (this: Command, file: string, options: { hub?: boolean; json?: boolean }) {
      const output = this.configureOutput();
      let errors: ConfigIssue[];
      let summary = '';
      try {
        ({ errors, summary } = options.hub ? checkHubFile(file) : checkAgentFile(file));
      } catch (err) {
        if (!isKestrelError(err)) throw err;
        errors = [{ path: '', message: err.message }];
      }
      if (options.json) output.writeOut?.(`${JSON.stringify({ ok: errors.length === 0, errors }, null, 2)}\n`);
      else if (errors.length === 0) output.writeOut?.(summary);
      else output.writeErr?.(`${file}: ${errors.length} error${errors.length === 1 ? '' : 's'}\n${errors.map((e) => `  ${formatIssue(e)}\n`).join('')}`);
      if (errors.length) process.exitCode = 1;
    });

  config
    .command('show')
    .description('print the effective config (defaults and environment applied, secrets redacted)')
    .argument('[file]', 'YAML config file (default: the built-in defaults)')
    .option('--hub', 'the file is a hub config (hub.yaml), not an agent config')
    .option('--json', 'print JSON instead of YAML')
    .action(function (this: Command, file: string | undefined, options: { hub?: boolean; json?: boolean }) {
      const { config, header } = options.hub ? effectiveHubConfig(file) : effectiveAgentConfig(file);
      const safe = redactConfig(config);
      if (options.json) {
        this.configureOutput().writeOut?.(`${JSON.stringify(safe, null, 2)}\n`);
        return;
      }
      this.configureOutput().writeOut?.(header + stringify(safe));
    });

  return config;
}

/** Each kind of config says in its `ok` line what a person would check first. */
function checkAgentFile(file: string): { errors: ConfigIssue[]; summary: string } {
  const result = checkConfig({ path: file });
  if (!result.ok) return { errors: result.errors, summary: '' };
  const cameras = result.config.cameras.map((c) => c.name).join(', ');
  return { errors: [], summary: `${file}: ok (device ${result.config.device.id}, cameras: ${cameras})\n` };
}

function checkHubFile(file: string): { errors: ConfigIssue[]; summary: string } {
  const result = checkHubConfig({ path: file });
  if (!result.ok) return { errors: result.errors, summary: '' };
  const { bind, tls, dataDir, mqtt, records, blobs } = result.config;
  const broker = mqtt.enabled ? `following ${mqtt.url}` : 'no MQTT';
  // A hub on PostgreSQL or S3 keeps its data there, not in dataDir: say where (no password).
  const data = records.type === 'sqlite' && blobs.type === 'filesystem' ? `data in ${dataDir}` : `records in ${describeRecords(records)}, blobs in ${describeBlobs(blobs)}`;
  return { errors: [], summary: `${file}: ok (hub on ${tls ? 'https' : 'http'}://${bind}, ${data}, ${broker})\n` };
}

function effectiveAgentConfig(file: string | undefined): { config: object; header: string } {
  const { origin, ...config } = loadConfig(file);
  const overrides = origin.envOverrides.map((o) => `${o.env} → ${o.path}`).join(', ');
  return { config, header: `# effective config of ${origin.path ?? 'the built-in defaults'}${overrides ? `; from the environment: ${overrides}` : ''}\n` };
}

function effectiveHubConfig(file: string | undefined): { config: object; header: string } {
  return { config: loadHubConfig(file), header: `# effective hub config of ${file ?? 'the built-in hub defaults'}\n` };
}
